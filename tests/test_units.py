"""Small pure pieces of the executor."""

from __future__ import annotations

from dask.utils import key_split
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from cwl_dask.documents.joborder import to_plain


def test_job_order_becomes_plain_dicts_and_lists() -> None:
    seq = CommentedSeq([CommentedMap(a=1), 2])
    plain = to_plain(CommentedMap(items=seq))
    assert plain == {"items": [{"a": 1}, 2]}
    assert type(plain["items"]) is list
    assert type(plain["items"][0]) is dict


def test_dask_groups_keys_by_step_even_with_dashes_in_the_name() -> None:
    from cwl_dask.driver.tool import RemoteJob

    job = RemoteJob.__new__(RemoteJob)
    job.step = "make-ndvi-2"
    assert key_split(f"{job.key_prefix}-0123456789abcdef0123456789abcdef") == "make_ndvi_2"
