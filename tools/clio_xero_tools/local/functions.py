"""Import a function's handler from its CodeUri and invoke it with exactly its own environment."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TextIO

from clio_xero_tools.local.template import FunctionSpec

# One invocation at a time across all functions: each runs with its own os.environ, as separate
# Lambda processes would, and os.environ is process-wide.
_INVOKE_LOCK = threading.RLock()
REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass
class LambdaContext:
    """The attributes handlers and Powertools read from the Lambda context object."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class LocalFunction:
    """A template function, imported lazily (its first invocation is its cold start)."""

    def __init__(
        self,
        spec: FunctionSpec,
        environment: Mapping[str, str],
        physical_name: str | None = None,
        output: TextIO | None = None,
    ) -> None:
        self.spec = spec
        # Where the function's stdout (Powertools JSON logs, EMF metrics) goes; None = our stdout.
        self.output = output
        self.name = physical_name or spec.logical_id
        self.environment = {
            **environment,
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_REGION": os.environ.get("AWS_REGION", REGION),
        }
        self._handler: Callable[[Any, Any], Any] | None = None
        self.invocations = 0

    def _load(self) -> Callable[[Any, Any], Any]:
        path = self.spec.module_file
        module_name = f"clio_xero_local_fn_{self.spec.logical_id}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        if module_spec is None or module_spec.loader is None:
            raise FileNotFoundError(f"{self.spec.logical_id}: no handler module at {path}")
        module: ModuleType = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        handler = getattr(module, self.spec.handler_name)
        if not callable(handler):
            raise TypeError(f"{self.spec.logical_id}: {self.spec.handler} is not callable")
        return handler  # type: ignore[no-any-return]

    def invoke(self, event: Any) -> Any:
        context = LambdaContext(
            function_name=self.name,
            memory_limit_in_mb=self.spec.memory_mb,
            invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.name}",
            aws_request_id=str(uuid.uuid4()),
            deadline=time.monotonic() + self.spec.timeout,
        )
        redirect = contextlib.redirect_stdout(self.output) if self.output else contextlib.nullcontext()
        with _INVOKE_LOCK, _environment(self.environment), redirect:
            if self._handler is None:
                self._handler = self._load()
            self.invocations += 1
            return self._handler(event, context)
