"""The annual report's own words (階段成果報告): document text in Traditional Chinese, not UI strings.

Headings and phrases follow the programme's published results report; every piece of prose the
report adds around the figures is written here once, so the renderers only lay it out.
"""

from gstp.branding import SYSTEM_NAME
from reviews.models import FlagStatus, LagRule, ReportStatus, Severity

REPORT_NAME = "階段成果報告"
DRAFT = "（草稿）"
TITLE = "{plan}({start}-{end} 年)"
SUBTITLE = "{year} 年" + REPORT_NAME + DRAFT
COMPILED_BY = "{secretariat}彙編"
GENERATED_ON = "產製日期：{day}"
DATE = "{year} 年 {month} 月 {day} 日"
DRAFT_NOTE = (
    "本草稿由 " + SYSTEM_NAME + "依已審查之季報、績效指標及落後警示資料自動產製，"
    "供執行秘書室彙編 {year} 年{report}之用。"
)

# 壹、前言
FOREWORD = "前言"
OVERVIEW = (
    "本方案 {year} 年納管 {groups} 個分組、子計畫 {subprojects} 項，其中 {reported} 項已有 {year} 年經審查之季報；"
    "{year} 年落後警示 {flags} 件（紅燈 {red} 件、黃燈 {yellow} 件）。"
)
OVERALL = "總體指標達成情形"
OVERALL_INTRO = "本方案設定 {target_year} 年總體指標，各指標 {year} 年階段達成情形整理如下："
OVERALL_CAPTION = "{plan}總體指標{year}年階段達成情形"
OVERALL_COLUMNS = ("項目", "{target_year} 年（總體指標）", "{year} 年（達成情形）", "達成與否")
ESTIMATE = "(預估值)"

# 分組
GROUP_HEADING = "{title}推動成果"
CONVENING = "【召集部會：{agency}】"
GROUP_SUMMARY = "{year} 年{name}整體推動效益"
GROUP_OVERVIEW = (
    "{group}納管子計畫 {subprojects} 項，其中 {reported} 項已有 {year} 年經審查之季報；"
    "{year} 年落後警示 {flags} 件（紅燈 {red} 件、黃燈 {yellow} 件）。"
)
GROUP_TARGETS_INTRO = "{group}之主要績效目標共計 {count} 項，{year} 年度各項績效目標之達成情形如下："
GROUP_TARGET_COLUMNS = ("項次", "主要績效目標", "目標值", "達成值", "達成情形")
GROUP_TARGET_NUMBER = "主要績效目標 {number}"
MEASURE_INTRO = "截至 {year} 年 12 月推動成果如下："
NO_SUBPROJECTS = "本項下無納管之子計畫。"

# 子計畫
PROGRESS = (
    "執行進度（{period} 季報）：預定累計進度 {planned}，實際累計進度 {actual}{gap}；"
    "經費執行率 {rate}（累計實支 {spent} 元、應付未付 {payables} 元、節餘 {savings} 元／累計分配 {allocated} 元）。"
)
PROGRESS_BEHIND = "（落後 {points} 個百分點）"
PROGRESS_AHEAD = "（超前 {points} 個百分點）"
NO_BUDGET = "經費執行率 —"
NO_ACCEPTED_REPORT = "執行進度：{year} 年尚無經審查之季報。"
# A report the secretariat reopened for correction: the figures above are those it was accepted with.
REOPENED = "本季報已於 {day}重新開啟更正（原因：{reason}），以上為更正前經審查之數據。"
CORRECTED = "本季報於 {day}重新開啟更正，以上為更正後經審查之數據。"
ACHIEVEMENTS = "推動成果：{text}"
DELAY_REASONS = "落後原因：{text}"
COUNTERMEASURES = "改善措施：{text}"
INDICATOR_COLUMNS = ("績效指標", "目標值", "{year} 年達成值", "達成情形")
TARGET_OF_YEAR = "{value}（{year} 年）"
NOT_AVAILABLE = "—"

MET = "達成"
NOT_MET = "未達成"
# An indicator's status at year end (indicators.semantics.Status), as the report words it.
STATUS = {
    "met": MET,
    "on_track": NOT_MET + "（進度符合預期）",
    "behind": NOT_MET + "（進度落後）",
    "cannot_reach": NOT_MET,
    "no_data": "尚無資料",
    "qualitative": "質化目標",
}

# 落後警示
FLAGS = "{year} 年落後警示摘要"
FLAG_COUNTS = "各分組警示件數"
FLAG_COUNTS_INTRO = "{year} 年各季之落後警示，依分組、規則及燈號統計如下（含已解除者）："
FLAG_COUNT_COLUMNS = ("分組", "燈號")
FLAG_TOTAL = "合計"
OPEN_RED_FLAGS = "尚未解除之紅燈警示"
OPEN_RED_FLAGS_INTRO = "{year} 年各季之紅燈警示，截至產製日仍未解除者計 {count} 件："
NO_FLAGS = "{year} 年無落後警示。"
NO_OPEN_RED_FLAGS = "{year} 年之紅燈警示均已解除。"
RED_FLAG_LINE = "{group}／{project}：{rule}（{period}，{status}）{evidence}"

RULES = {
    LagRule.LATE_REPORT: "季報逾期",
    LagRule.MILESTONE_OVERDUE: "查核點逾期",
    LagRule.PROGRESS_GAP: "進度落後",
    LagRule.BUDGET_EXECUTION: "經費執行落後",
    LagRule.INDICATOR_BEHIND: "績效指標落後",
    LagRule.REVIEW_OVERDUE: "部會初核逾期",
    LagRule.REBASELINED: "偏離原計畫",
}
SEVERITIES = {Severity.YELLOW: "黃燈", Severity.RED: "紅燈"}
FLAG_STATUSES = {FlagStatus.OPEN: "待處理", FlagStatus.ACKNOWLEDGED: "已確認", FlagStatus.RESOLVED: "已解除"}
REPORT_STATUSES = {
    "missing": "未提報",
    ReportStatus.DRAFT: "草稿未提報",
    ReportStatus.SUBMITTED: "已提報待審",
    ReportStatus.RETURNED: "退回修正",
    ReportStatus.ACCEPTED: "已審查",
}

# The evidence of a flag, in one sentence per rule (keys as the rules write them).
EVIDENCE_LATE = "應於 {due_on} 前提報，逾期 {days_late} 日，{kind}狀態：{report_status}"
REPORT_KINDS = {"quarterly": "季報", "monthly": "月報"}
EVIDENCE_RETURNED = "；退回後 {days_since_returned} 日未再提報"
EVIDENCE_MILESTONE = "查核點「{title}」預定 {planned_date} 完成"
EVIDENCE_MILESTONE_OVERDUE = "，逾期 {days_overdue} 日"
EVIDENCE_MILESTONE_FORECAST = "，預估 {forecast_date} 完成"
EVIDENCE_MILESTONE_REASONS = {
    "over_red_days": "逾期逾 {red_over_days} 日",
    "critical": "關鍵查核點",
    "forecast_beyond_end": "預估完成日晚於計畫結束日",
}
EVIDENCE_MILESTONE_MORE = "，另有 {more} 個查核點逾期"
EVIDENCE_GAP = "預定累計進度 {planned}，實際累計進度 {actual}，差距 {gap} 個百分點（紅燈門檻 {red} 個百分點）"
EVIDENCE_BUDGET = (
    "經費執行率 {rate}（累計實支 {spent} 元、應付未付 {payables} 元、節餘 {savings} 元／累計分配 {allocated} 元；"
    "紅燈門檻 {red}）"
)
EVIDENCE_INDICATOR = (
    "績效指標「{name}」達成值 {actual}，預期值 {expected}，目標值 {target}（{target_year} 年），進度比 {ratio}"
)
EVIDENCE_REVIEW_OVERDUE = (
    "季報於 {submitted_on} 提報，已待{ministries}初核 {days_waiting} 日（逾 {threshold_days} 日列為警示）"
)
EVIDENCE_REBASELINED = (
    "原計畫結束日 {original_end_date}，核定修正後 {current_end_date}，變動 {days_moved} 日，"
    "已核定計畫修正 {revisions} 次"
)
REVIEWING_MINISTRY = "部會"  # when the evidence names no ministry
EVIDENCE_ESCALATED = "；連續兩季黃燈（前一季 {previous_period}）轉為紅燈"
SEPARATOR = "、"
OPEN_BRACKET, CLOSE_BRACKET = "【", "】"
