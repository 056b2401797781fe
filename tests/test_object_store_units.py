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
        def get(self, urls: list[str], partials: list[str]) -> None:
            for partial in partials:
                Path(partial).write_bytes(b"sho")

    url = store.join("o.txt")
    with pytest.raises(transfer.TransferError, match=r"o\.txt: 3 bytes instead of 5"):
        transfer.download_files(Truncating(), {url: str(tmp_path / "o.txt")}, {url: 5})
    assert list(tmp_path.iterdir()) == [], "no partial file is left behind"


def test_the_sizes_of_a_run_s_outputs_come_from_one_listing(store: Store) -> None:
    fs = store.filesystem()
    urls = [store.join(f"step.{i}-abc", "out.txt") for i in range(3)]
    for i, url in enumerate(urls):
        fs.pipe_file(url, b"x" * i)

    asked: list[str] = []

    class Listing:  # counts what is asked of the store
        def __getattr__(self, name: str) -> object:
            asked.append(name)
            return getattr(fs, name)

    sizes = transfer.listed_sizes(Listing(), store.url, urls)
    assert sizes == {url: i for i, url in enumerate(urls)}
    assert asked.count("find") == 1 and "info" not in asked


def test_many_final_outputs_all_come_down_with_their_bytes(store: Store, tmp_path: Path) -> None:
    fs = store.filesystem()
    output = {"outs": []}
    for i in range(20):
        fs.pipe_file(store.join(f"step.{i}-abc", "out.txt"), str(i).encode())
        output["outs"].append({"class": "File", "location": store.join(f"step.{i}-abc", "out.txt")})
    local, got = download_outputs(output, store, str(tmp_path / "out"))
    texts = [Path(f["location"].removeprefix("file://")).read_text() for f in local["outs"]]
    assert texts == [str(i) for i in range(20)]
    assert got == sum(len(str(i)) for i in range(20))


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
