"""Other systems generate their client from the published schema: a Python client generated from the live
schema with openapi-python-client drives a live server through the generated code alone. A lead files a report
with milestone entries and indicator values, edits it with the `etag` the answer carries, submits it; the
secretariat returns it, the lead submits it again, the secretariat accepts it and reads its history. Lists
filter on one value of a list-typed filter, every caller's flags parse into typed models, errors come back as
the `Error` model, and an export answers in its declared media type. And the programme's whole chain: a report
with a PDF, endorsed by the ministry, accepted, reopened, corrected and through the chain again.

The client is generated once per module (about two seconds) from the schema served on loopback, in Chinese,
the default language: type names come from the schema's names, never from its translated labels.
"""

import datetime
import hashlib
import importlib
import inspect
import io
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.test import override_settings

from accounts.services import token_issue
from projects.models import NodeKind
from reviews.file_kinds import ACCEPTED
from reviews.models import FlagStatus, LagRule, Severity
from reviews.periods import Quarter
from tests.accounts.factories import lead_user, reader_user, reviewer_user, secretariat_user
from tests.indicators.factories import IndicatorFactory
from tests.projects.factories import AgencyFactory, MilestoneFactory, make_tree
from tests.reviews.evidence_samples import pdf
from tests.reviews.factories import FlagCommentFactory, LagFlagFactory, LagSettingsFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PACKAGE = "gstp_api_client"


@pytest.fixture(scope="module")
def gstp(live_server, tmp_path_factory, django_db_blocker):
    """The generated package, imported: ``gstp.api``, ``gstp.models``, ``gstp.client``."""
    folder = tmp_path_factory.mktemp("generated-client")
    with override_settings(GSTP_API_DOCS_PUBLIC=True), django_db_blocker.unblock():
        served = httpx.get(f"{live_server.url}/api/v1/schema/", params={"format": "json"}, timeout=30)
    assert served.status_code == 200, served.text[:500]
    (folder / "schema.json").write_bytes(served.content)
    # An evidence file downloads as bytes: the generator reads only JSON, text and octet streams, so the
    # binary kinds are named octet streams to it (the README's "Generating a client" says the same).
    overrides = "".join(
        f"  {kind}: application/octet-stream\n"
        for kind in sorted(ACCEPTED)
        if "/" in kind and not kind.startswith("text/")
    )
    (folder / "config.yaml").write_text(f"post_hooks: []\ncontent_type_overrides:\n{overrides}")
    generated = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(folder / "schema.json"),
            "--output-path",
            str(folder / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(folder / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Every operation and model generated: the generator warns of each piece it had to leave out.
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout + generated.stderr
    sys.path.insert(0, str(folder))
    try:
        package = importlib.import_module(PACKAGE)
        package.api = importlib.import_module(f"{PACKAGE}.api")
        package.models = importlib.import_module(f"{PACKAGE}.models")
        package.client = importlib.import_module(f"{PACKAGE}.client")
        package.types = importlib.import_module(f"{PACKAGE}.types")
        yield package
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def operation(gstp, tag: str, name: str):
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")


def client_for(gstp, live_server, user):
    return gstp.client.AuthenticatedClient(base_url=live_server.url, token=token_issue(user=user), prefix="Token")


@pytest.fixture
def scene(gstp, live_server):
    agency = AgencyFactory(name="數位發展部", short_name="數位部")
    group, strategy, measure, (sub,) = make_tree(lead_agency=agency)
    milestone = MilestoneFactory(node=sub, title="系統上線", planned_date=datetime.date(2024, 9, 30))
    indicator = IndicatorFactory(node=sub, name="服務使用人次", unit="人次", targets=[(2024, 0, "2000")])
    return {
        "group": group,
        "measure": measure,
        "sub": sub,
        "milestone": milestone,
        "indicator": indicator,
        "lead": client_for(gstp, live_server, lead_user(agency)),
        "secretariat": client_for(gstp, live_server, secretariat_user()),
        "reader": client_for(gstp, live_server, reader_user()),
    }


def test_a_report_goes_round_the_review_loop_through_the_generated_client(gstp, scene):
    models, lead, secretariat = gstp.models, scene["lead"], scene["secretariat"]
    reports_create = operation(gstp, "reports", "reports_create")
    reports_partial_update = operation(gstp, "reports", "reports_partial_update")
    reports_submit = operation(gstp, "reports", "reports_submit_create")
    reports_return = operation(gstp, "reports", "reports_return_create")
    reports_accept = operation(gstp, "reports", "reports_accept_create")
    reports_retrieve = operation(gstp, "reports", "reports_retrieve")
    reports_history = operation(gstp, "reports", "reports_history_list")

    # given a lead's draft with milestone entries and indicator values (nested JSON, not form fields)
    created = reports_create.sync_detailed(
        client=lead,
        idempotency_key="generated-client-1",
        body=models.ReportCreateRequest(
            project=scene["sub"].pk,
            period="2024Q3",
            planned_progress="60",
            actual_progress="60",
            budget_spent="4600000",
            budget_payables="200000",
            achievements="完成平臺上線。",
            milestone_entries=[
                models.MilestoneEntryRequest(
                    milestone=scene["milestone"].pk, completed_on=datetime.date(2024, 9, 20), note="如期完成"
                )
            ],
            indicator_values=[models.IndicatorValueRequest(indicator=scene["indicator"].pk, value="1800")],
        ),
    )
    assert created.status_code == 201, created.content
    report = created.parsed
    assert isinstance(report, models.Report)
    assert report.status == models.ReportStatusEnum.DRAFT
    assert [(entry.milestone, entry.completed_on) for entry in report.milestone_entries] == [
        (scene["milestone"].pk, datetime.date(2024, 9, 20))
    ]
    assert [(value.indicator, Decimal(value.value)) for value in report.indicator_values] == [
        (scene["indicator"].pk, Decimal("1800"))
    ]
    # the version to send back is in the parsed body, and is the ETag header
    assert report.etag == f'"{report.id}-{report.version}"' == created.headers["ETag"]

    # when the lead edits it with If-Match and submits it
    edited = reports_partial_update.sync(
        report.id,
        client=lead,
        if_match=report.etag,
        body=models.PatchedReportUpdateRequest(achievements="完成平臺上線，開放民眾使用。"),
    )
    assert isinstance(edited, models.Report), edited
    assert edited.achievements == "完成平臺上線，開放民眾使用。" and edited.version == report.version + 1
    submitted = reports_submit.sync(report.id, client=lead, if_match=edited.etag)
    assert isinstance(submitted, models.Report), submitted
    assert submitted.status == models.ReportStatusEnum.SUBMITTED

    # and the secretariat returns it, the lead submits it again, the secretariat accepts it
    returned = reports_return.sync(
        report.id, client=secretariat, if_match=submitted.etag, body=models.ReturnRequest(reason="請補充預算執行說明。")
    )
    assert isinstance(returned, models.Report), returned
    assert (returned.status, returned.return_reason) == (models.ReportStatusEnum.RETURNED, "請補充預算執行說明。")
    fixed = reports_partial_update.sync(
        report.id,
        client=lead,
        if_match=returned.etag,
        body=models.PatchedReportUpdateRequest(progress_explanation="預算執行率 92%，依契約分期付款。"),
    )
    resubmitted = reports_submit.sync(report.id, client=lead, if_match=fixed.etag)
    assert resubmitted.status == models.ReportStatusEnum.SUBMITTED
    accepted = reports_accept.sync(report.id, client=secretariat, if_match=resubmitted.etag)
    assert isinstance(accepted, models.Report), accepted

    # then it is accepted, as a fresh read says, and its history tells each step, oldest first
    read = reports_retrieve.sync_detailed(report.id, client=secretariat)
    assert read.parsed.status == models.ReportStatusEnum.ACCEPTED and read.parsed.accepted_at is not None
    assert read.headers["ETag"] == read.parsed.etag == accepted.etag
    history = reports_history.sync(report.id, client=secretariat)
    assert [event.action for event in history] == [
        models.ReportActionEnum.CREATE,
        models.ReportActionEnum.UPDATE,
        models.ReportActionEnum.SUBMIT,
        models.ReportActionEnum.RETURN,
        models.ReportActionEnum.UPDATE,
        models.ReportActionEnum.SUBMIT,
        models.ReportActionEnum.ACCEPT,
    ]
    assert history[3].reason == "請補充預算執行說明。" and isinstance(history[3].at, datetime.datetime)


def test_generated_names_are_ascii_identifiers_and_filters_share_their_fields_enums(gstp):
    generated = Path(gstp.__file__).parent
    names = [path.stem for path in generated.rglob("*.py")] + list(gstp.models.__all__)
    assert [name for name in names if not (name.isascii() and name.isidentifier())] == []
    # ?kind= takes the type of a node's `kind`, ?severity= that of a flag's `severity`
    kind = inspect.signature(operation(gstp, "projects", "projects_list").sync).parameters["kind"]
    severity = inspect.signature(operation(gstp, "flags", "flags_list").sync).parameters["severity"]
    assert kind.annotation == list[gstp.models.NodeKindEnum] | gstp.types.Unset
    assert severity.annotation == list[gstp.models.SeverityEnum] | gstp.types.Unset


def test_one_value_of_a_list_typed_filter_filters_the_list(gstp, scene):
    projects_list = operation(gstp, "projects", "projects_list")

    subprojects = projects_list.sync(client=scene["reader"], kind=[gstp.models.NodeKindEnum.SUBPROJECT])
    everything = projects_list.sync(client=scene["reader"])

    assert [node.id for node in subprojects.results] == [scene["sub"].pk]
    assert subprojects.results[0].kind == gstp.models.NodeKindEnum.SUBPROJECT
    assert subprojects.results[0].lead_agencies[0].short_name == "數位部"
    assert everything.count == 4 > subprojects.count == 1
    two_kinds = projects_list.sync(
        client=scene["reader"], kind=[gstp.models.NodeKindEnum.GROUP, gstp.models.NodeKindEnum.SUBPROJECT]
    )
    assert {node.id for node in two_kinds.results} == {scene["group"].pk, scene["sub"].pk}


def test_errors_come_back_as_the_typed_error_model(gstp, scene):
    models = gstp.models
    reports_create = operation(gstp, "reports", "reports_create")
    reports_retrieve = operation(gstp, "reports", "reports_retrieve")
    reports_partial_update = operation(gstp, "reports", "reports_partial_update")
    body = models.ReportCreateRequest(project=scene["sub"].pk, period="2024Q3", actual_progress="150")

    invalid = reports_create.sync_detailed(client=scene["lead"], body=body)
    missing = reports_retrieve.sync_detailed(999999, client=scene["secretariat"])

    assert invalid.status_code == 400 and isinstance(invalid.parsed, models.Error)
    assert invalid.parsed.code == "max_value" and "actual_progress" in invalid.parsed.errors.additional_properties
    assert missing.status_code == 404 and isinstance(missing.parsed, models.Error)
    assert missing.parsed.code == "not_found" and missing.parsed.detail

    # a write after another one came first: 412, and nothing changed
    body.actual_progress = "40"
    report = reports_create.sync(client=scene["lead"], body=body)
    first = reports_partial_update.sync(
        report.id,
        client=scene["lead"],
        if_match=report.etag,
        body=models.PatchedReportUpdateRequest(achievements="完成需求訪談。"),
    )
    stale = reports_partial_update.sync_detailed(
        report.id,
        client=scene["lead"],
        if_match=report.etag,
        body=models.PatchedReportUpdateRequest(actual_progress="41"),
    )
    assert stale.status_code == 412 and isinstance(stale.parsed, models.Error)
    assert stale.parsed.code == "precondition_failed"
    assert reports_retrieve.sync(report.id, client=scene["lead"]).version == first.version


def test_every_callers_flags_parse_into_typed_models(gstp, scene):
    flag = LagFlagFactory(
        node=scene["sub"],
        rule=LagRule.MILESTONE_OVERDUE,
        period=Quarter(2024, 3),
        severity=Severity.RED,
        status=FlagStatus.ACKNOWLEDGED,
        evidence={
            "rule": "milestone_overdue",
            "period": "2024Q3",
            "milestone": scene["milestone"].pk,
            "title": "系統上線",
            "planned_date": "2024-09-30",
            "forecast_date": None,
            "days_overdue": 95,
            "is_critical": False,
            "red_over_days": 90,
            "red_because": ["over_red_days"],
        },
    )
    FlagCommentFactory(flag=flag, body="請說明延誤原因。")
    flags_list = operation(gstp, "flags", "flags_list")
    models = gstp.models

    full = flags_list.sync(client=scene["secretariat"], severity=[models.SeverityEnum.RED])
    public = flags_list.sync(client=scene["reader"], severity=[models.SeverityEnum.RED])

    (seen,) = full.results
    assert seen.rule == models.RuleEnum.MILESTONE_OVERDUE and seen.status == models.FlagStatusEnum.ACKNOWLEDGED
    assert [comment.body for comment in seen.comments] == ["請說明延誤原因。"]
    assert isinstance(seen.comments[0], models.FlagComment) and seen.additional_properties == {}
    evidence = seen.evidence
    assert isinstance(evidence, models.FlagEvidence) and evidence.additional_properties == {}
    assert (evidence.planned_date, evidence.forecast_date, evidence.days_overdue) == (
        datetime.date(2024, 9, 30),
        None,
        95,
    )
    assert evidence.red_because == [models.RedBecauseEnum.OVER_RED_DAYS]
    (seen_by_reader,) = public.results
    assert seen_by_reader.id == seen.id and seen_by_reader.evidence == evidence
    # a reader is not sent who acted and the thread: absent, not an error
    assert seen_by_reader.comments is gstp.types.UNSET and seen_by_reader.acknowledged_by is gstp.types.UNSET


def test_an_export_answers_in_its_declared_media_type(gstp, scene):
    exports = operation(gstp, "exports", "exports_retrieve")
    models = gstp.models

    csv = exports.sync_detailed(
        models.ExportsRetrieveResource.PROJECTS, client=scene["reader"], format_=models.ExportsRetrieveFormat.CSV
    )
    lines = exports.sync_detailed(
        models.ExportsRetrieveResource.PROJECTS, client=scene["reader"], format_=models.ExportsRetrieveFormat.JSONL
    )

    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert csv.parsed.lstrip("\ufeff").startswith("id,plan,parent,kind")
    assert lines.headers["Content-Type"].startswith("application/x-ndjson")
    assert len(lines.parsed.splitlines()) == 4
    assert NodeKind.SUBPROJECT in lines.parsed


def test_the_review_chain_with_a_pdf_and_a_correction_through_the_generated_client(gstp, scene, live_server, media):
    """The programme's chain, as another system drives it from the schema alone: the lead files a report with
    a PDF, the ministry's reviewer endorses it, the secretariat accepts it, then reopens it; the lead corrects
    it and the chain runs again."""
    models, types = gstp.models, gstp.types
    LagSettingsFactory(plan=scene["sub"].plan, endorsement_required=True)
    reviewer = client_for(gstp, live_server, reviewer_user(scene["sub"].lead_agencies[0]))
    lead, secretariat = scene["lead"], scene["secretariat"]
    call = {
        name: operation(gstp, "reports", f"reports_{name}")
        for name in (
            "create",
            "partial_update",
            "submit_create",
            "endorse_create",
            "accept_create",
            "reopen_create",
            "files_create",
            "files_list",
            "files_download",
            "retrieve",
            "history_list",
            "awaiting_review_list",
        )
    }

    # the lead files a draft and adds a PDF (multipart, the one body that is not JSON)
    report = call["create"].sync(
        client=lead,
        body=models.ReportCreateRequest(
            project=scene["sub"].pk,
            period="2024Q3",
            planned_progress="60",
            actual_progress="60",
            budget_spent="4600000",
            budget_payables="200000",
            achievements="完成平臺上線。",
        ),
    )
    content = pdf("2024Q3 evidence")
    added = call["files_create"].sync_detailed(
        report.id,
        client=lead,
        body=models.FileUploadRequest(
            file=types.File(payload=io.BytesIO(content), file_name="第3季查核點佐證.pdf", mime_type="application/pdf")
        ),
    )
    assert added.status_code == 201, added.content
    assert (added.parsed.name, added.parsed.sha256) == ("第3季查核點佐證.pdf", hashlib.sha256(content).hexdigest())
    report = call["retrieve"].sync(report.id, client=lead)
    submitted = call["submit_create"].sync(report.id, client=lead, if_match=report.etag)
    assert submitted.status == models.ReportStatusEnum.SUBMITTED

    # the reviewer finds it in its queue, reads the PDF and endorses it; the secretariat accepts it
    queue = call["awaiting_review_list"].sync(client=reviewer)
    assert [row.id for row in queue.results] == [report.id]
    (listed,) = call["files_list"].sync(report.id, client=reviewer)
    downloaded = call["files_download"].sync_detailed(report.id, listed.id, client=reviewer)
    assert downloaded.status_code == 200 and downloaded.content == content
    endorsed = call["endorse_create"].sync(report.id, client=reviewer, if_match=submitted.etag)
    assert endorsed.status == models.ReportStatusEnum.ENDORSED and endorsed.endorsed_at is not None
    accepted = call["accept_create"].sync(report.id, client=secretariat, if_match=endorsed.etag)
    assert accepted.status == models.ReportStatusEnum.ACCEPTED

    # the secretariat reopens it; the lead corrects it and the chain runs again
    reopened = call["reopen_create"].sync(
        report.id,
        client=secretariat,
        if_match=accepted.etag,
        body=models.ReopenRequest(reason="實支數與會計報表不符。"),
    )
    assert (reopened.status, reopened.reopen_reason) == (models.ReportStatusEnum.RETURNED, "實支數與會計報表不符。")
    corrected = call["partial_update"].sync(
        report.id, client=lead, if_match=reopened.etag, body=models.PatchedReportUpdateRequest(budget_spent="4550000")
    )
    resubmitted = call["submit_create"].sync(report.id, client=lead, if_match=corrected.etag)
    endorsed_again = call["endorse_create"].sync(report.id, client=reviewer, if_match=resubmitted.etag)
    final = call["accept_create"].sync(report.id, client=secretariat, if_match=endorsed_again.etag)
    assert (final.status, final.budget_spent) == (models.ReportStatusEnum.ACCEPTED, "4550000")

    history = call["history_list"].sync(report.id, client=reviewer)
    assert [event.action.value for event in history] == [
        "create",
        "add_file",
        "submit",
        "endorse",
        "accept",
        "reopen",
        "update",
        "submit",
        "endorse",
        "accept",
    ]
