"""The annual report in the ROC calendar (民國紀年): years, dates and quarters written 113 年, 113/01/10 and
113年第3季, from ``export_report --calendar roc``, ``?calendar=roc`` on the download, or the plan's own."""

import io

import docx
import pytest
from django.core.management import CommandError, call_command

from gstp.calendar import Calendar
from tests.reviews.test_annual_report import as_docx, build, programme  # noqa: F401 (a fixture)


def test_the_report_in_the_roc_calendar(programme):  # noqa: F811
    document = as_docx(build(programme["plan"], calendar=Calendar.ROC))
    paragraphs = [paragraph.text for paragraph in document.paragraphs]

    assert paragraphs[0] == "智慧國家方案(110-114 年)"
    assert paragraphs[1] == "113 年階段成果報告（草稿）"
    assert any(text.startswith("執行進度（113年第3季 季報）") for text in paragraphs)
    assert "113 年各季之紅燈警示，截至產製日仍未解除者計 2 件：" in paragraphs
    red = [paragraph.text for paragraph in document.paragraphs if paragraph.style.name == "List Bullet"]
    assert "季報逾期（113年第4季，待處理），應於 114/01/10 前提報" in red[1]
    assert not any("2024Q" in text for text in paragraphs)


def test_the_plan_s_calendar_is_the_default(programme):  # noqa: F811
    programme["plan"].calendar = Calendar.ROC
    programme["plan"].save()

    assert as_docx(build(programme["plan"])).paragraphs[1].text == "113 年階段成果報告（草稿）"
    assert as_docx(build(programme["plan"], calendar=Calendar.GREGORIAN)).paragraphs[1].text == (
        "2024 年階段成果報告（草稿）"
    )


@pytest.mark.parametrize("year", ["2024", "113", "民國113年", "１１３"])
def test_the_command_takes_a_roc_year_and_writes_in_the_roc_calendar(programme, year):  # noqa: F811
    out = io.StringIO()

    call_command("export_report", "--year", year, "--format", "md", "--calendar", "roc", stdout=out)

    assert out.getvalue().startswith("# 智慧國家方案(110-114 年) 113 年階段成果報告（草稿）")
    assert "113年第3季 季報" in out.getvalue()


def test_the_command_refuses_a_bad_year_or_calendar(programme):  # noqa: F811
    with pytest.raises(CommandError, match="民國113年"):
        call_command("export_report", "--year", "民國0年", stdout=io.StringIO())
    with pytest.raises(CommandError, match="calendar"):
        call_command("export_report", "--year", "2024", "--calendar", "julian", stdout=io.StringIO())


def test_the_download_in_the_roc_calendar(programme, reader_client):  # noqa: F811
    roc = reader_client.get("/reports/annual/2024.docx", {"calendar": "roc"})
    gregorian = reader_client.get("/reports/annual/2024.md")

    assert docx.Document(io.BytesIO(roc.content)).paragraphs[1].text == "113 年階段成果報告（草稿）"
    assert gregorian.content.decode().startswith("# 智慧國家方案(2021-2025 年) 2024 年階段成果報告（草稿）")


def test_the_download_follows_the_reader_s_own_calendar(programme, reader_client):  # noqa: F811
    reader_client.user.calendar = Calendar.ROC
    reader_client.user.save()

    assert "113 年階段成果報告" in reader_client.get("/reports/annual/2024.md").content.decode()


def test_the_download_refuses_an_unknown_calendar(programme, reader_client):  # noqa: F811
    response = reader_client.get("/reports/annual/2024.md", {"calendar": "julian"})

    assert response.status_code == 400
    assert "calendar" in response.json()["errors"]
