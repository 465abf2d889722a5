"""Reading submissions: folders, zips (wrapped or not), single files, and unsafe input."""

import os
import stat
import zipfile

import pytest

from autograder.core.submission import SubmissionError, collect_submission

FILES = ("residual.py", "conv.py")


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_folder_takes_only_the_named_files(tmp_path):
    source = tmp_path / "sub"
    source.mkdir()
    (source / "conv.py").write_text("A = 1\n")
    (source / "numpy.py").write_text("raise SystemExit\n")
    (source / "conftest.py").write_text("raise SystemExit\n")
    found = collect_submission(source, FILES, tmp_path / "out")
    assert sorted(found) == ["conv.py"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["conv.py"]


def test_folder_with_one_wrapping_subfolder(tmp_path):
    (tmp_path / "sub" / "alice-hw2").mkdir(parents=True)
    (tmp_path / "sub" / "alice-hw2" / "residual.py").write_text("B = 2\n")
    found = collect_submission(tmp_path / "sub", FILES, tmp_path / "out")
    assert found["residual.py"].read_text() == "B = 2\n"


@pytest.mark.parametrize("prefix", ["", "hw/"])
def test_zip_flat_or_wrapped_in_one_folder(tmp_path, prefix):
    archive = _zip(
        tmp_path / "s.zip",
        {f"{prefix}conv.py": "C = 3\n", f"{prefix}sitecustomize.py": "x", "__MACOSX/conv.py": "!"},
    )
    found = collect_submission(archive, FILES, tmp_path / "out")
    assert sorted(found) == ["conv.py"]
    assert found["conv.py"].read_text() == "C = 3\n"


def test_zip_entries_cannot_escape_the_destination(tmp_path):
    archive = _zip(tmp_path / "s.zip", {"../../conv.py": "evil", "/abs/residual.py": "evil"})
    found = collect_submission(archive, FILES, tmp_path / "out")
    assert found == {}
    assert not (tmp_path / "conv.py").exists()


def test_zip_member_larger_than_the_limit_is_refused(tmp_path):
    archive = _zip(tmp_path / "s.zip", {"conv.py": "#" * (3 * 1024 * 1024)})
    with pytest.raises(SubmissionError, match="over"):
        collect_submission(archive, FILES, tmp_path / "out")


def test_not_a_zip(tmp_path):
    fake = tmp_path / "s.zip"
    fake.write_text("hello")
    with pytest.raises(SubmissionError, match="not a valid zip"):
        collect_submission(fake, FILES, tmp_path / "out")


def test_single_file_must_have_an_expected_name(tmp_path):
    good = tmp_path / "conv.py"
    good.write_text("D = 4\n")
    assert sorted(collect_submission(good, FILES, tmp_path / "out")) == ["conv.py"]
    bad = tmp_path / "my_conv.py"
    bad.write_text("D = 4\n")
    with pytest.raises(SubmissionError, match="must be named one of"):
        collect_submission(bad, FILES, tmp_path / "out2")


def test_symlinks_in_a_folder_are_refused(tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text("SECRET = 1\n")
    (tmp_path / "sub").mkdir()
    os.symlink(secret, tmp_path / "sub" / "conv.py")
    with pytest.raises(SubmissionError, match="not a regular file"):
        collect_submission(tmp_path / "sub", FILES, tmp_path / "out")


def test_symlink_entries_in_a_zip_are_refused(tmp_path):
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("conv.py")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(SubmissionError, match="symbolic link"):
        collect_submission(archive, FILES, tmp_path / "out")


def test_missing_or_unknown_kind(tmp_path):
    with pytest.raises(SubmissionError, match="not found"):
        collect_submission(tmp_path / "nope", FILES, tmp_path / "out")
    other = tmp_path / "conv.txt"
    other.write_text("x")
    with pytest.raises(SubmissionError, match=r"expected a folder, a \.zip or a \.py"):
        collect_submission(other, FILES, tmp_path / "out")
