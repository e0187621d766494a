"""An evidence file's kind is read from its content: what is accepted, what is refused whatever its name says,
and the name that is kept."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

from reviews.file_kinds import inspect_upload
from reviews.services.files import NAME_MAX_LENGTH, file_name
from tests.reviews import evidence_samples as samples


def upload(content: bytes, name: str = "file", content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(samples.pdf(), "application/pdf", id="pdf"),
        pytest.param(samples.png(), "image/png", id="png"),
        pytest.param(samples.JPEG, "image/jpeg", id="jpeg"),
        pytest.param(samples.GIF, "image/gif", id="gif"),
        pytest.param(samples.TIFF, "image/tiff", id="tiff"),
        pytest.param(
            samples.docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", id="docx"
        ),
        pytest.param(samples.xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", id="xlsx"),
        pytest.param(samples.odt(), "application/vnd.oasis.opendocument.text", id="odt"),
        pytest.param(samples.zip_archive({"附件/說明.txt": "佐證"}), "application/zip", id="zip"),
        pytest.param(samples.csv_text("utf-8"), "text/csv", id="csv-utf8"),
        pytest.param(b"\xef\xbb\xbf" + samples.csv_text("utf-8"), "text/csv", id="csv-utf8-bom"),
        pytest.param(samples.csv_text("big5"), "text/csv", id="csv-big5"),
    ],
)
def test_accepted_kinds_are_named_by_their_content(content, expected):
    # given a name and a declared type that say otherwise
    inspection = inspect_upload(upload(content, name="misleading.exe", content_type="application/x-msdownload"))

    assert inspection.content_type == expected
    assert inspection.size == len(content)
    assert inspection.sha256 == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(samples.elf_executable(), id="elf"),
        pytest.param(samples.pe_executable(), id="pe"),
        pytest.param(samples.MACH_O, id="mach-o"),
        pytest.param(samples.SHELL_SCRIPT, id="shell-script"),
        pytest.param(samples.UNKNOWN_SCRIPT, id="script-of-an-unknown-interpreter"),
        pytest.param(samples.HTML, id="html"),
        pytest.param(samples.SVG, id="svg"),
        pytest.param(samples.MARKUP_TEXT, id="text-starting-with-markup"),
        pytest.param(samples.macro_enabled_document(), id="macro-enabled-word"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 100, id="broken-zip"),
        pytest.param("名稱,數量\n甲,1\n".encode("utf-16"), id="utf-16-text"),
        pytest.param(b"\x00\x01\x02\x03" * 64, id="unknown-binary"),
    ],
)
def test_refused_kinds_whatever_they_are_called(content):
    assert inspect_upload(upload(content, name="報告.pdf")).content_type is None


def test_a_file_spooled_to_disk_is_read_the_same(settings):
    # given an upload Django wrote to a temporary file, as it does past FILE_UPLOAD_MAX_MEMORY_SIZE
    content = samples.pdf("x" * 2000)
    spooled = TemporaryUploadedFile("報告.pdf", "application/pdf", len(content), None)
    spooled.write(content)
    spooled.seek(0)

    inspection = inspect_upload(spooled)

    assert (inspection.content_type, inspection.size) == ("application/pdf", len(content))
    assert inspection.sha256 == hashlib.sha256(content).hexdigest()
    assert spooled.read() == content  # left at the start for the storage to read


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("115年第1季 進度報告.pdf", "115年第1季 進度報告.pdf"),
        ("C:\\Users\\王小明\\Desktop\\佐證資料.xlsx", "佐證資料.xlsx"),
        ("../../etc/passwd", "passwd"),
        ("報告\r\n.pdf", "報告.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        (".hidden.csv", "hidden.csv"),
        ("", "file"),
    ],
)
def test_the_file_name_is_kept_without_folders_or_control_characters(raw, kept):
    assert file_name(raw) == kept


def test_a_long_file_name_is_cut_keeping_its_extension():
    name = file_name("計" * 300 + ".pdf")

    assert len(name) == NAME_MAX_LENGTH
    assert name.endswith("計.pdf")
