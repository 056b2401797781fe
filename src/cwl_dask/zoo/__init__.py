"""Running ZOO-Project services (OGC API Processes) with cwl-dask.

A drop-in for zoo-calrissian-runner in the service templates ZOO-Project-DRU renders:
``ZooDaskRunner(cwl, conf, inputs, outputs, execution_handler)`` with the same methods,
wrapping and hook calls, every tool invocation a Dask task on the backend the Dask config
chooses (see docs/zoo.md).
"""

from cwl_dask.zoo.execution import Execution
from cwl_dask.zoo.handler import ExecutionHandler
from cwl_dask.zoo.package import load_package
from cwl_dask.zoo.runner import ZooDaskRunner
from cwl_dask.zoo.stub import ZooStub, zoo_module
from cwl_dask.zoo.zooio import ZooConf, ZooInputs, ZooOutputs

__all__ = [
    "Execution",
    "ExecutionHandler",
    "ZooConf",
    "ZooDaskRunner",
    "ZooInputs",
    "ZooOutputs",
    "ZooStub",
    "load_package",
    "zoo_module",
]
