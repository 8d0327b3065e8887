"""Run moto's server with the few patches Elevate's tests need to execute
Step Functions state machines on moto 5.2.1.

    python3 launcher.py -p PORT [-H HOST] [--time-scale FACTOR] [--invoke-url URL]

motoserver (the Go test helper) runs this file with Options.Patched. Each
patch below says what it changes and why; docs/workflow.md lists them too.
The launcher refuses to start when a patched name is missing, so a moto
upgrade that moves things fails loudly instead of testing something else.

1. StartExecution snapshots the state machine with copy.deepcopy, which also
   copies the machine's executions (live threads and locks) and, through
   StateMachine.backend, every other machine of the account and region: any
   second StartExecution fails with a 500, "cannot pickle '_thread.RLock'
   object" (getmoto/moto issue 10077, fixed after 5.2.1). The snapshot now
   shares the backend and leaves the executions out.
2. The Lambda backend without Docker (config lambda.use_docker=false) answers
   every Invoke with the next queued canned result and never reports a
   function error. A canned result shaped like a Lambda runtime's error
   payload, a JSON object with "errorType" and "errorMessage" (and at most
   "stackTrace"), is now returned as one: with X-Amz-Function-Error:
   Unhandled, which Step Functions turns into the error named errorType.
3. SendTaskSuccess with the token of a task that no longer waits (it was
   resumed already, timed out, or its execution ended) succeeds silently
   while the execution runs and fails with InvalidToken once it has ended.
   AWS fails it with TaskTimedOut ("Provided task does not exist anymore"),
   which is what the workflow adapter expects; now moto does too.
4. --time-scale multiplies the pauses of Wait states and the intervals
   between Retry attempts (moto really sleeps them), so a test of a loop or
   a retry policy takes milliseconds. TimeoutSeconds(Path) and
   HeartbeatSeconds are not scaled: a test chooses them in the input.
5. --invoke-url URL makes the Lambda backend without Docker answer each
   Invoke by asking URL instead of taking a canned result: it POSTs the
   invocation's payload there, with the function's name (as the caller gave
   it, such as its ARN) in the X-Elevate-Function header, and returns the
   answer's body. An answer shaped like a runtime's error payload is a
   function error (patch 2); a failed forward (no answer, or a status other
   than 200) is the function error Elevate.InvokeForwardFailed. Without the
   option, canned results work as before.
6. Each JSONPath of a definition is parsed once: moto parses a path again
   with jsonpath-ng each time a state uses it (Parameters, ResultSelector,
   ResultPath, Choice variables, SecondsPath), about 30 ms of CPU each, so
   one provisioning round (Task, Choice, Wait, Pass) spent about half a
   second of CPU on it, more on a busy machine.
   Step Functions takes milliseconds per transition; the cache keeps moto's
   engine from dominating a real-time measurement (and the tests' time).
"""

import argparse
import copy
import json
import os
import sys
import types

# Exit status when moto cannot be imported by this interpreter.
EXIT_NO_MOTO = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--invoke-url", default="")
    args = parser.parse_args()
    if args.time_scale <= 0:
        parser.error("--time-scale must be positive")
    if args.invoke_url and not args.invoke_url.startswith(("http://", "https://")):
        parser.error("--invoke-url must be an http:// or https:// URL")
    try:
        import moto
        from moto import server
    except ImportError as err:
        print(f"launcher: moto is not installed for {sys.executable}: {err}; "
              "install it with: pip install 'moto[server]'", file=sys.stderr)
        sys.exit(EXIT_NO_MOTO)

    # Executions call Lambda through this server at localhost:$MOTO_PORT;
    # moto_server keeps a MOTO_PORT it inherits, even another server's.
    os.environ["MOTO_PORT"] = str(args.port)
    snapshot_state_machines_without_executions()
    if args.invoke_url:
        forward_invocations(args.invoke_url)  # before patch 2, which wraps it
    report_lambda_function_errors()
    refuse_tokens_of_closed_tasks()
    parse_json_paths_once()
    if args.time_scale != 1:
        scale_pauses(args.time_scale)
    forward = f"; invocations go to {args.invoke_url}" if args.invoke_url else ""
    print(f"launcher: moto {moto.__version__} patched; time scale {args.time_scale}{forward}", file=sys.stderr)
    server.main(["-H", args.host, "-p", str(args.port)])


def snapshot_state_machines_without_executions() -> None:
    """Patch 1: a second StartExecution works (moto issue 10077)."""
    from moto.stepfunctions.parser import models

    def deepcopy(obj, memo=None):
        memo = {} if memo is None else memo
        backend = getattr(obj, "backend", None)
        if backend is not None:
            memo[id(backend)] = backend  # shared, not copied
        executions = getattr(obj, "executions", None)
        if isinstance(executions, list):
            memo[id(executions)] = []  # a snapshot has no executions
        return copy.deepcopy(obj, memo)

    require(models, "copy")
    models.copy = types.SimpleNamespace(deepcopy=deepcopy)


def report_lambda_function_errors() -> None:
    """Patch 2: a canned Lambda result can be a function error."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    invoke = require(LambdaSimpleBackend, "invoke")

    def invoke_with_errors(self, function_name, qualifier, body, headers, response_headers):
        result = invoke(self, function_name, qualifier, body, headers, response_headers)
        if is_error_payload(result):
            response_headers["x-amz-function-error"] = "Unhandled"
        return result

    LambdaSimpleBackend.invoke = invoke_with_errors


def is_error_payload(result) -> bool:
    try:
        payload = json.loads(result)
    except (TypeError, ValueError):
        return False
    return (isinstance(payload, dict)
            and isinstance(payload.get("errorType"), str)
            and "errorMessage" in payload
            and set(payload) <= {"errorType", "errorMessage", "stackTrace"})


def refuse_tokens_of_closed_tasks() -> None:
    """Patch 3: a token of a task that no longer waits is TaskTimedOut."""
    from moto.stepfunctions.parser.api import ExecutionStatus, TaskTimedOut
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    send = require(StepFunctionsParserBackend, "send_task_success")
    require(StepFunctionsParserBackend, "_get_executions")
    # The endpoint's event is set by SendTaskSuccess and when the task ends.
    require(CallbackEndpoint("probe"), "_notify_event")

    def send_task_success(self, task_token, outcome):
        for execution in self._get_executions():
            worker = execution.exec_worker
            endpoint = worker.env.callback_pool_manager.get(task_token) if worker else None
            if endpoint is not None and (execution.exec_status != ExecutionStatus.RUNNING or endpoint._notify_event.is_set()):
                # Named explicitly: moto's TaskTimedOut() has no error type.
                raise TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'", "TaskTimedOut")
        return send(self, task_token, outcome)

    StepFunctionsParserBackend.send_task_success = send_task_success


def scale_pauses(factor: float) -> None:
    """Patch 4: Wait states and Retry intervals last factor times as long."""
    import time

    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

    # RetrierDecl sleeps time.sleep(interval) between attempts.
    require(retrier_decl, "time")
    retrier_decl.time = types.SimpleNamespace(sleep=lambda seconds: time.sleep(seconds * factor))

    # moto's _wait_interval waits again for whole seconds it has not waited
    # yet, which a fraction of a second never adds up to; wait once instead.
    # The event is set when the execution stops, which ends the wait early.
    require(wait_function.WaitFunction, "_wait_interval")

    def wait_interval(self, env, wait_seconds):
        if wait_seconds > 0:
            env.program_state_event.wait(wait_seconds * factor)

    wait_function.WaitFunction._wait_interval = wait_interval


def parse_json_paths_once() -> None:
    """Patch 6: a parsed JSONPath is reused (parsing is pure)."""
    import functools

    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (json_path, result_path):
        module.parse = functools.lru_cache(maxsize=4096)(require(module, "parse"))


def forward_invocations(url: str) -> None:
    """Patch 5: each Invoke is answered by the HTTP endpoint url."""
    import urllib.error
    import urllib.request

    from moto.awslambda_simple.models import LambdaSimpleBackend

    require(LambdaSimpleBackend, "invoke")

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        data = body.encode() if isinstance(body, str) else (body or b"")
        req = urllib.request.Request(url, data=data, method="POST", headers={
            "Content-Type": "application/json", "X-Elevate-Function": function_name})
        try:
            with urllib.request.urlopen(req, timeout=FORWARD_TIMEOUT) as res:
                if res.status == 200:
                    return res.read()
                problem = f"status {res.status}"
        except (urllib.error.URLError, OSError) as err:  # HTTPError is a URLError
            problem = str(err)
        return json.dumps({"errorType": "Elevate.InvokeForwardFailed",
                           "errorMessage": f"invoke {function_name} at {url}: {problem}"}).encode()

    LambdaSimpleBackend.invoke = invoke


# How long patch 5 waits for an answer: Lambda's own maximum.
FORWARD_TIMEOUT = 900


def require(owner, name):
    """Return owner.name, or stop: this moto is not the one the patches are for."""
    if not hasattr(owner, name):
        owner_name = getattr(owner, "__name__", type(owner).__name__)
        print(f"launcher: {owner_name}.{name} is missing; the patches are for moto 5.2.1", file=sys.stderr)
        sys.exit(1)
    return getattr(owner, name)


if __name__ == "__main__":
    main()
