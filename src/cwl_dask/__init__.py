"""cwl-dask: run CWL workflows and EO Application Packages, each tool invocation a Dask task."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cwl-dask")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
