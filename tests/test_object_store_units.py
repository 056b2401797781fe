"""The store-mode building blocks on fsspec's in-process ``memory://`` filesystem."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from schema_salad.ref_resolver import file_uri

from cwl_dask.data import objects, transfer
from cwl_dask.data.fsaccess import StoreFsAccess
from cwl_dask.data.staging import InputUploads, download_outputs
from cwl_dask.data.store import Store, describe_error, is_url

pytest.importorskip("fsspec")


@pytest.fixture
def store() -> Store:
    return Store(f"memory://bucket-{uuid.uuid4().hex[:8]}/runs/cwl-dask-test")


def _tree(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("a")
    (root / "b.txt").write_text("bb")
    (root / "empty").mkdir()


def test_only_local_paths_and_no_file_urls_count_as_store_urls() -> None:
    assert is_url("s3://bucket/prefix") and is_url("gs://b/p")
    assert not is_url("/tmp/x") and not is_url("file:///tmp/x") and not is_url(None)


def test_a_file_inside_an_uploaded_directory_is_found_in_it_not_uploaded_again(
    store: Store, tmp_path: Path
) -> None:
    _tree(tmp_path / "dir")
    uploads = InputUploads(store)
    job = {
        "d": {"class": "Directory", "location": file_uri(str(tmp_path / "dir"))},
        "f": {"class": "File", "location": file_uri(str(tmp_path / "dir" / "b.txt"))},
    }
    staged = uploads.stage(job)
    assert staged["d"]["location"] == uploads.url_for(str(tmp_path / "dir"))
    assert staged["f"]["location"] == staged["d"]["location"] + "/b.txt"
    assert uploads.bytes_up == 3  # a.txt and b.txt, once each
    assert job["d"]["location"].startswith("file://"), "the job order itself is not changed"


def test_a_directory_comes_back_whole_with_its_empty_subdirectory(
    store: Store, tmp_path: Path
) -> None:
    _tree(tmp_path / "dir")
    fs = store.filesystem()
    transfer.upload_tree(fs, str(tmp_path / "dir"), store.join("x"))
    transfer.download_tree(fs, store.join("x"), str(tmp_path / "back"))
    found = sorted(str(p.relative_to(tmp_path / "back")) for p in (tmp_path / "back").rglob("*"))
    assert found == ["b.txt", "empty", "sub", "sub/a.txt"]


def test_final_outputs_are_downloaded_below_the_run_directory_with_the_store_layout(
    store: Store, tmp_path: Path
) -> None:
    fs = store.filesystem()
    fs.pipe_file(store.join("step.1-abc", "out.txt"), b"result")
    output = {"out": {"class": "File", "location": store.join("step.1-abc", "out.txt"), "size": 6}}
    local, got = download_outputs(output, store, str(tmp_path / "out"))
    assert local["out"]["location"] == file_uri(str(tmp_path / "out" / "step.1-abc" / "out.txt"))
    assert (tmp_path / "out" / "step.1-abc" / "out.txt").read_bytes() == b"result"
    assert got == 6


def test_an_object_of_the_wrong_size_is_not_taken_for_the_output(
    store: Store, tmp_path: Path
) -> None:
    class Truncating:  # a transfer that ends early without an error
        def __init__(self, fs: object) -> None:
            self.fs = fs

        def get_file(self, url: str, local: str) -> None:
            Path(local).write_bytes(b"sho")

        def info(self, url: str) -> dict[str, int]:
            return self.fs.info(url)  # type: ignore[attr-defined,no-any-return]

    fs = store.filesystem()
    fs.pipe_file(store.join("o.txt"), b"short")
    with pytest.raises(transfer.TransferError, match=r"o\.txt"):
        transfer.download_file(Truncating(fs), store.join("o.txt"), str(tmp_path / "o.txt"), True)
    assert list(tmp_path.iterdir()) == [], "no partial file is left behind"


def test_driver_file_access_reads_and_lists_store_urls(store: Store) -> None:
    fs = store.filesystem()
    fs.pipe_file(store.join("d", "a.txt"), b"hello")
    fs.pipe_file(store.join("d", "empty", transfer.EMPTY_MARKER), b"")
    access = StoreFsAccess.factory("memory", {})("")
    with access.open(store.join("d", "a.txt"), "rb") as handle:
        assert handle.read() == b"hello"
    assert access.isdir(store.join("d")) and access.isfile(store.join("d", "a.txt"))
    assert sorted(access.listdir(store.join("d", "empty"))) == []
    assert access.size(store.join("d", "a.txt")) == 5


def test_rewriting_sees_a_directory_before_its_listing() -> None:
    seen: list[str] = []

    def note(obj: dict[str, object]) -> dict[str, object]:
        seen.append(str(obj["basename"]))
        return obj

    value = {"class": "Directory", "basename": "d", "listing": [{"class": "File", "basename": "f"}]}
    objects.rewrite(value, note)
    assert seen == ["d", "f"]


def test_store_errors_are_told_in_a_few_words() -> None:
    assert "bucket does not exist" in describe_error(FileNotFoundError("nope"))
    assert "access refused" in describe_error(PermissionError("AccessDenied"))
