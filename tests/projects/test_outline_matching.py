"""Which row of the plan tree each node of a revised outline continues (projects/outline/matching.py)."""

from projects.outline.matching import Row, Written, match_rows


def written(key, title, kind="subproject"):
    return Written(key=key, kind=kind, title=title, parent_key=key.rpartition("/")[0])


def test_same_key_and_title_then_title_then_key():
    rows = [
        Row(id=1, key="肆/二/(一)/1", kind="subproject", title="政府資料開放"),
        Row(id=2, key="肆/二/(一)/2", kind="subproject", title="地理資訊整合"),
        Row(id=3, key="肆/二/(一)/3", kind="subproject", title="3D 國家底圖"),
    ]

    matches = match_rows(
        [
            written("肆/二/(一)/1", "政府資料開放"),  # unchanged
            written("肆/二/(一)/2", "3D 國家底圖"),  # renumbered: 地理資訊整合 was removed
            written("肆/二/(二)/1", "地理資訊整合服務"),  # new: a new title at a new key
        ],
        rows,
    )

    assert matches == {"肆/二/(一)/1": 1, "肆/二/(一)/2": 3}


def test_renamed_where_it_stands():
    rows = [Row(id=7, key="肆/二/(二)", kind="measure", title="強化民眾資料自主應用機制")]

    assert match_rows([written("肆/二/(二)", "深化民眾資料自主運用", "measure")], rows) == {"肆/二/(二)": 7}


def test_two_nodes_that_swap_places_keep_their_rows():
    rows = [
        Row(id=1, key="伍/三/(一)", kind="subproject", title="智慧晶片人才"),
        Row(id=2, key="伍/三/(二)", kind="subproject", title="行動通訊人才"),
    ]

    matches = match_rows([written("伍/三/(一)", "行動通訊人才"), written("伍/三/(二)", "智慧晶片人才")], rows)

    assert matches == {"伍/三/(一)": 2, "伍/三/(二)": 1}


def test_a_title_written_twice_is_matched_under_the_same_parent_first():
    rows = [
        Row(id=1, key="肆/二/(一)/7", kind="subproject", title="氣象衛星資料監測服務計畫"),
        Row(id=2, key="肆/三/(一)/9", kind="subproject", title="氣象衛星資料監測服務計畫"),
    ]

    # the first one removed, the second renumbered
    matches = match_rows([written("肆/三/(一)/8", "氣象衛星資料監測服務計畫")], rows)

    assert matches == {"肆/三/(一)/8": 2}


def test_a_node_of_another_kind_at_the_same_key_is_new():
    rows = [Row(id=1, key="參/二/(六)", kind="subproject", title="文化科技 5G 專網")]

    assert match_rows([written("參/二/(六)", "文化科技 5G 專網", "measure")], rows) == {}
