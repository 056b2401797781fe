"""``python -m cwl_dask``; the guard matters: Dask's spawned workers re-import __main__."""

from cwl_dask.cli.main import main

if __name__ == "__main__":
    main()
