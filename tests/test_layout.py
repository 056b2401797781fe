"""The package's layout is its architecture (``python -m cwl_dask._layout``)."""

from __future__ import annotations

from cwl_dask._layout import Layout


def test_no_module_imports_itself_back_through_others() -> None:
    assert Layout.read().cycles() == []


def test_no_package_imports_one_its_docstring_forbids() -> None:
    """Above all: the worker side never imports the driver side."""
    assert Layout.read().forbidden() == []


def test_the_checker_sees_a_worker_module_importing_the_driver(tmp_path) -> None:
    (tmp_path / "worker").mkdir()
    (tmp_path / "driver").mkdir()
    (tmp_path / "worker" / "invocation.py").write_text("from cwl_dask.driver import launch\n")
    (tmp_path / "driver" / "launch.py").write_text("import cwl_dask.worker.invocation\n")
    layout = Layout.read(tmp_path)
    assert layout.forbidden() == ["cwl_dask.worker.invocation -> cwl_dask.driver.launch"]
    assert layout.cycles() == [["cwl_dask.driver.launch", "cwl_dask.worker.invocation"]]


def test_no_module_is_longer_than_the_400_lines_of_the_style_guide() -> None:
    assert Layout.read().too_long() == {}
