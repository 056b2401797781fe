"""``ZooDaskRunner``: zoo-calrissian-runner's interface, every tool invocation a Dask task.

The contract is the service templates ZOO-Project-DRU renders (EOEPCA's and GeoLabs'):
the runner wraps the package with stage-in/stage-out as zoo-calrissian-runner does, runs
the orchestrator ``#main`` with cwl-dask, leaves ``report.json``, ``output.json`` and one
log per tool invocation in ``{tmpPath}/{Identifier}-{usid}/`` (where the handlers' links
point) and calls the handler's hooks with calrissian's names, arguments and order.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from cwl_dask.errors import CwlDaskError, RunStopped
from cwl_dask.zoo.execution import LOG_NAME, Execution, JobLog
from cwl_dask.zoo.handler import ExecutionHandler
from cwl_dask.zoo.kernel import report_to_kernel, service_process
from cwl_dask.zoo.package import entry_process, input_types, with_environment
from cwl_dask.zoo.provenance import KEYWORD, accepts_crate, provenance_enabled, provenance_targets
from cwl_dask.zoo.report import LAST, ProgressObserver, failure_message, usage_report
from cwl_dask.zoo.stub import zoo_module
from cwl_dask.zoo.wrapping import handed_output, job_order, secret_inputs, wrap_for_zoo
from cwl_dask.zoo.zooio import (
    ZooConf,
    ZooInputs,
    ZooOutputs,
    container_engine,
)

_logger = logging.getLogger("cwl_dask.zoo")


class ZooDaskRunner:
    """Runs a ZOO service's Application Package with cwl-dask (see docs/zoo.md)."""

    def __init__(
        self,
        cwl: dict[str, Any],
        conf: dict[str, Any],
        inputs: dict[str, Any],
        outputs: dict[str, Any],
        execution_handler: Any = None,
    ) -> None:
        self.cwl = cwl
        self.zoo_conf = ZooConf(conf)
        self.conf = self.zoo_conf
        self.workflow = entry_process(cwl, self.zoo_conf.workflow_id)
        self.inputs = ZooInputs(inputs, input_types(self.workflow))
        self.outputs = ZooOutputs(outputs)
        self.handler = execution_handler or ExecutionHandler(conf=conf, outputs=outputs)
        self.execution: Execution | None = None
        self._namespace: str | None = None
        self._plan: Any = None
        #: get_pod_node_selector()'s labels, given to every cluster the run creates.
        self.node_selector: tuple[tuple[str, str], ...] = ()
        self._package_path: Path | None = None
        self._run_cwl: dict[str, Any] = cwl  # the package as run (with the tools' environment)

    # -- identity and directories -------------------------------------------------------
    def get_workflow_id(self) -> str:
        return self.zoo_conf.workflow_id

    @staticmethod
    def shorten_namespace(name: str) -> str:
        return name[:63].rstrip("-")

    def get_namespace_name(self) -> str:
        """``<workflow-id>-<usid>`` (as calrissian): the run's directory under tmpPath."""
        if self._namespace is None:
            chosen = getattr(self.handler, "get_namespace", lambda: None)()
            lenv = self.zoo_conf.conf.get("lenv", {})
            wf = self.get_workflow_id().replace("_", "-")
            if chosen:
                self._namespace = str(chosen)
            elif lenv.get("usid"):
                self._namespace = self.shorten_namespace(f"{wf}-{lenv['usid']}")
            else:
                stamp = time.strftime("%Y%m%d%H%M%S")
                self._namespace = self.shorten_namespace(f"{wf}-{stamp}-{uuid.uuid4()}")
            self._namespace = re.sub(r"[^A-Za-z0-9._-]", "-", self._namespace)
        return self._namespace

    def work_dir(self) -> Path:
        conf = self.zoo_conf.conf
        tmp = conf.get("main", {}).get("tmpPath") or conf.get("tmpPath") or "/tmp"
        return Path(tmp).resolve() / self.get_namespace_name()

    # -- parameters ---------------------------------------------------------------------
    def get_workflow_inputs(self, mandatory: bool = False) -> list[str]:
        return [n for n, t in self.inputs.types.items() if t.mandatory or not mandatory]

    def assert_parameters(self, mandatory: bool = True) -> bool:
        missing = [n for n in self.get_workflow_inputs(mandatory) if not self.inputs.provided(n)]
        if missing:
            self.update_status(2, f"missing mandatory inputs: {', '.join(missing)}")
            _logger.error("missing mandatory inputs: %s", ", ".join(missing))
            return False
        return True

    def get_processing_parameters(self) -> dict[str, Any]:
        return self.inputs.get_processing_parameters()

    # -- sizing -------------------------------------------------------------------------
    def _write_package(self) -> Path:
        if self._package_path is None:
            work = self.work_dir()
            work.mkdir(parents=True, exist_ok=True)
            self._package_path = work / "app-package.cwl"
            self._package_path.write_text(json.dumps(self._run_cwl, indent=2), encoding="utf-8")
        return self._package_path

    def get_cluster_spec(self) -> Any:
        """The planner's ClusterSpec for this package and these inputs (cached)."""
        return self.get_plan().spec

    def get_plan(self) -> Any:
        """The planner's Plan (cluster spec and worker pools) for this package (cached)."""
        if self._plan is None:
            from cwl_dask.clusters.sizing import plan
            from cwl_dask.documents.loading import load_process

            # A file URI: load_process does not find "path#tool" for a tool of a $graph.
            uri = f"{self._write_package().as_uri()}#{self.get_workflow_id()}"
            process = load_process(uri)
            self._plan = plan(process, self.get_processing_parameters())
        return self._plan

    def get_max_cores(self) -> int:
        """Cores the run may use at once: planned worker cores x max workers."""
        try:
            spec = self.get_cluster_spec()
        except Exception as err:
            _logger.warning("could not plan the run (%s); DEFAULT_MAX_CORES applies", err)
            return int(os.environ.get("DEFAULT_MAX_CORES") or 2)
        return math.ceil(spec.worker_cores * spec.max_workers)

    def get_max_ram(self) -> str:
        """RAM the run may use at once, ``"<MiB>Mi"``: planned worker memory x max workers."""
        try:
            spec = self.get_cluster_spec()
        except Exception as err:
            _logger.warning("could not plan the run (%s); DEFAULT_MAX_RAM applies", err)
            return f"{int(os.environ.get('DEFAULT_MAX_RAM') or 4096)}Mi"
        return f"{math.ceil(spec.worker_memory_mib * spec.max_workers)}Mi"

    # -- status -------------------------------------------------------------------------
    def update_status(self, progress: int, message: str = "") -> None:
        conf = self.zoo_conf.conf
        conf.setdefault("lenv", {})["message"] = message
        zoo_module().update_status(conf, int(progress))

    # -- the run ------------------------------------------------------------------------
    def _backend(self) -> Any:
        import dask

        from cwl_dask.clusters import make_backend

        gateway = None
        if dask.config.get("cwl-dask.backend", None) in (None, "gateway"):
            gateway = os.environ.get("DASK_GATEWAY_URL") or None
        labels = dict(self.node_selector) or None
        return make_backend(gateway=gateway, planner=self.get_plan, labels=labels)

    def logs_dir(self) -> Path:
        """Where the tool logs go: ``{tmpPath}/{Identifier}-{usid}``, the directory the
        handlers' links name (the run directory, unless the id has ``_``, which the
        namespace turns into ``-``)."""
        lenv = self.zoo_conf.conf.get("lenv", {})
        if not lenv.get("usid"):
            return self.work_dir()
        name = re.sub(r"[^A-Za-z0-9._-]", "-", f"{self.get_workflow_id()}-{lenv['usid']}")
        return self.work_dir().parent / name

    def wrap(self) -> dict[str, Any]:
        """The package wrapped as zoo-calrissian-runner wraps it (``#main`` = stage-in →
        the entry → stage-out); staging tools from ``WRAPPER_STAGE_IN``,
        ``WRAPPER_STAGE_IN_FILE``, ``WRAPPER_STAGE_OUT``, ``WRAPPER_STAGE_OUT_FILE``,
        else cwl-dask's own (which take S3 settings in either spelling, see docs/staging.md)."""
        return wrap_for_zoo(self._write_package(), self.get_workflow_id(), sys.executable)

    def execute(self, wall_time: float | None = None) -> int:
        """Run the service as zoo-calrissian-runner does; ``SERVICE_SUCCEEDED`` or
        ``SERVICE_FAILED``. ``wall_time`` (seconds) stops the whole run, as ``--timeout``.
        Exceptions of the handler's hooks are not caught (the templates catch them)."""
        zoo = zoo_module()
        handler = self.handler
        self.update_status(2, "Pre-execution hook")
        _call(handler, "pre_execution_hook")
        if not self.assert_parameters():
            return zoo.SERVICE_FAILED
        self.update_status(5, "starting execution")
        work = self.work_dir()
        work.mkdir(parents=True, exist_ok=True)
        log = JobLog(work / LOG_NAME)
        execution = self.execution = Execution(log)
        namespace = self.get_namespace_name()
        log.write(f"run {namespace}: workflow #{self.get_workflow_id()} in {work}")
        _call(handler, "get_secrets")
        _call(handler, "set_job_id", job_id=namespace)
        # calrissian's hook order: additional parameters, then the pods' environment and
        # node selector; the environment is baked into the package before it is wrapped.
        additional = _call(handler, "get_additional_parameters") or {}
        env = _call(handler, "get_pod_env_vars") or {}
        selector = _call(handler, "get_pod_node_selector")
        if selector:
            from cwl_dask.clusters import placement

            self.node_selector = placement.normalise(selector, "get_pod_node_selector()")
            log.write(f"get_pod_node_selector() = {selector}: labels of every pool's workers "
                      "(the gateway option worker_labels)")  # fmt: skip
        if env:
            log.write(f"environment of every tool: {', '.join(sorted(env))}")
            self._run_cwl = with_environment(self.cwl, self.get_workflow_id(), env)
            self._package_path = None  # rewritten with the environment
        try:
            wrapped = self.wrap()
        except CwlDaskError as err:
            return self._failed(f"cannot wrap the package: {err}")
        self.update_status(10, "workflow wrapped, creating processing environment")
        wrapped_path = work / "wrapped.cwl"
        wrapped_path.write_text(json.dumps(wrapped, indent=2), encoding="utf-8")
        self.update_status(15, "preparing the job order")
        try:
            types = input_types(entry_process(wrapped, "main"))
            inputs = ZooInputs(self.inputs.inputs, types).get_processing_parameters()
            staged = _staged_out(work, namespace)
            params = job_order(wrapped, namespace, inputs, additional, os.getcwd(), staged)
        except (TypeError, ValueError, CwlDaskError) as err:
            return self._failed(f"invalid input: {err}")
        # ZOO's web server serves tmpPath: job.json there has the secrets masked; the
        # run reads the real job order from a private file, removed after the run.
        secrets = secret_inputs(wrapped)
        masked = {k: "***" if k in secrets and v else v for k, v in params.items()}
        (work / "job.json").write_text(json.dumps(masked, indent=2), encoding="utf-8")
        self.update_status(21, "Submit execution")
        with tempfile.TemporaryDirectory(prefix="cwl-dask-zoo-") as private:
            job_path = Path(private) / "job.json"
            job_path.write_text(json.dumps(params, indent=2), encoding="utf-8")
            code, message = self._run(wrapped_path, job_path, log, wall_time)
        self.update_status(LAST, "delivering outputs, logs and usage report")
        output = handed_output(execution.output) if code == 0 else None
        self.outputs.set_output(output)
        kwargs = {
            "log": execution.get_log(),
            "output": output,
            "usage_report": execution.usage_report,
            "tool_logs": execution.get_tool_logs(),
        }
        main = self.zoo_conf.conf.get("main", {})
        tmp_url = main.get("tmpUrl")
        crate = self._crate(handler, log)
        _call(handler, "handle_outputs", **kwargs, **crate)
        if code != 0 and tmp_url is not None:
            # Both templates' handle_outputs rewrite main.tmpUrl (temp/ -> <user>/temp/),
            # and after a failure their except branch calls it again: undone here, the
            # second call's links are not <user>/<user>/temp/ ones (calrissian's are).
            main["tmpUrl"] = tmp_url
        self.update_status(97, "Post-execution hook")
        failure = None if code == 0 else f"execution failed: {message}"
        report_to_kernel(self.zoo_conf.conf, failure, self._log_links(tmp_url, kwargs["tool_logs"]))
        _call(handler, "post_execution_hook", **kwargs)
        if failure is None:
            self.update_status(100, "execution successful")
            return zoo.SERVICE_SUCCEEDED
        self.update_status(100, failure)
        return zoo.SERVICE_FAILED

    def _log_links(self, tmp_url: str | None, tool_logs: list[str]) -> list[tuple[str, str]]:
        """(URL, title) of the run's log and each tool log, as ZOO serves ``tmpPath``."""
        if not tmp_url:
            return []
        base, tmp = tmp_url.rstrip("/"), self.work_dir().parent
        logs = [(self.work_dir() / LOG_NAME, "cwl-dask run log")]
        logs += [(Path(log), f"tool log {Path(log).stem}") for log in tool_logs]
        return [(f"{base}/{path.relative_to(tmp)}", title) for path, title in logs
                if path.is_relative_to(tmp)]  # fmt: skip

    def _crate(self, handler: Any, log: JobLog) -> dict[str, Any]:
        """``provenance_crate=`` for ``handle_outputs``, if on and the handler takes it."""
        if not provenance_enabled():
            return {}
        _, crate = provenance_targets(self.work_dir())
        written = crate if os.path.isfile(crate) else None
        if accepts_crate(handler):
            return {KEYWORD: written}
        log.write(f"the handler's handle_outputs takes no {KEYWORD}: crate {written}")
        return {}

    def _failed(self, message: str) -> int:
        """A run that could not be started: logged, the status says why."""
        if self.execution is not None:
            self.execution.log.write(f"failure: {message}")
        _logger.error("%s", message)
        report_to_kernel(self.zoo_conf.conf, f"execution failed: {message}", [])
        self.update_status(100, f"execution failed: {message}")
        return zoo_module().SERVICE_FAILED

    def _run(
        self, wrapped: Path, job_path: Path, log: JobLog, wall_time: float | None
    ) -> tuple[int, str]:
        from cwl_dask.api import RunRequest, run_request
        from cwl_dask.driver.stopping import stop_on_signals
        from cwl_dask.eo.wrap import STAGING_ENVIRONMENT
        from cwl_dask.errors import EXIT_FAILED
        from cwl_dask.zoo.caching import cachedir_for

        execution = self.execution
        assert execution is not None
        work = self.work_dir()
        observer = ProgressObserver(self.update_status, log.write)
        message = ""
        if wall_time and threading.current_thread() is not threading.main_thread():
            log.write(f"wall_time={wall_time} s is not enforced outside the main thread")
            wall_time = None
        with service_process(work, log.mirror), log.capture() as capture:
            try:
                request = RunRequest(
                    workflow=f"{wrapped}#main",
                    job_args=[str(job_path)],
                    backend=self._backend(),
                    logs_dir=str(self.logs_dir()),
                    outdir=str(work / "outputs"),
                    workdir=_workdir(work),
                    cachedir=cachedir_for(self.zoo_conf.conf),
                    container=container_engine(self.zoo_conf.conf),  # type: ignore[arg-type]
                    quiet=True,
                    observer=observer,
                    preserve_environment=[n for n in STAGING_ENVIRONMENT if n in os.environ],
                )
                if provenance_enabled():
                    request.provenance, request.provenance_crate = provenance_targets(work)
                self.update_status(23, "execution submitted")
                with stop_on_signals(wall_time):
                    result = run_request(request)
                code, execution.output, execution.records = (
                    result.code,
                    result.outputs,
                    result.records,
                )
            except RunStopped as err:
                code, message = EXIT_FAILED, str(err).replace("run timed out", "wall_time")
                _logger.error("%s", message)
            except Exception as err:  # a run that could not start is a failed run
                code, message = EXIT_FAILED, f"{type(err).__name__}: {err}"
                _logger.exception("the run failed to start")
        execution.code = code
        ram = int(self.get_max_ram().removesuffix("Mi"))
        execution.usage_report = usage_report(execution.records, self.get_max_cores(), ram)
        (work / "report.json").write_text(json.dumps(execution.usage_report, indent=2))
        if code == 0:
            (work / "output.json").write_text(json.dumps(execution.output, indent=2))
            log.write("the run succeeded")
        else:
            why = capture.errors[0] if capture.errors else f"exit code {code}, see the job log"
            message = failure_message(execution.records) or message or f"the run failed: {why}"
            log.write(f"failure: {message}")
        return code, message


def _call(handler: Any, name: str, **kwargs: Any) -> Any:
    """Call a hook if the handler has it (duck typing: any handler class works)."""
    method = getattr(handler, name, None)
    return method(**kwargs) if callable(method) else None


def _workdir(work: Path) -> str:
    """The run's intermediate files: ``<run dir>/work``, shared with the workers, unless
    the Dask config ``cwl-dask.workdir`` names object storage (``s3://bucket/prefix``): then
    the workers share no volume with ZOO (see docs/object-storage.md)."""
    import dask.config

    configured = dask.config.get("cwl-dask.workdir", None)
    return str(configured) if configured else str(work / "work")


def _staged_out(work: Path, namespace: str) -> str:
    """Where results go without a stage-out target: ``<run dir>/staged-out``, or with a
    store work directory (workers that cannot write ZOO's run dir) ``<workdir>/staged-out/
    <namespace>`` in the store."""
    workdir = _workdir(work)
    if "://" in workdir and not workdir.startswith("file://"):
        return f"{workdir.rstrip('/')}/staged-out/{namespace}"
    return str(work / "staged-out")
