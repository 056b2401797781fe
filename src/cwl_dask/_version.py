"""The installed version, for modules that must not import the package facade."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cwl-dask")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
