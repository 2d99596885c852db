"""Azure's own Python client for Durable Functions, against a `durable` app.

Usage: PYTHON client_compat.py ORIGIN [TASK_HUB]
  e.g. target/python-client-venv/bin/python tests/python/client_compat.py \
           http://127.0.0.1:7071 TestHubName
where PYTHON has azure-functions-durable==1.7.0 (tests/tests/python_client.rs makes that venv
and runs this against an app it starts).

Drives the real `DurableOrchestrationClient` of `azure-functions-durable` (1.7.0) the way a
Python function app does: it is built from the JSON of its client binding and sends every
request to the binding's `rpcBaseUrl` (here ORIGIN/runtime/webhooks/durabletask/) plus
Azure's relative routes (`orchestrators/...`, `instances/...`). It needs E1_HelloSequence of
the samples and the orchestrators that tests/tests/python_client.rs defines:
`Py_WaitForGo` (waits for a "Go" event, returns `{"input": ..., "event": ...}`) and
`Py_FailOnce` (fails in its activity the first time it runs, then returns
"recovered on call 2").

Prints one line per check and exits 1 at the first failed one, saying what was expected and
what came. The last line is `RESULT {json}`: the ids the Rust test looks up in the store.

Run it against a scratch app: it purges the completed instances created while it runs.

How the SDK encodes payloads (as it does against Azure): `start_new` serializes the input to
JSON text and aiohttp encodes that text again, so the body is a JSON *string* holding JSON
(`"{\"cities\": ...}"`). Azure's extension keeps the body as the instance input, so the
status shows the input as that string, and a Python orchestrator would `json.loads` it.
`raise_event` does the same with the event data. The checks below therefore decode once
more where the SDK encoded once more.
"""

import asyncio
import json
import sys
import time
import traceback
import uuid
from datetime import datetime, timedelta, timezone

import aiohttp
import azure.durable_functions as df
from azure.durable_functions import OrchestrationRuntimeStatus as Status
from azure.durable_functions.models.utils import http_utils

# How long any one instance may take to reach the status a check waits for.
TIMEOUT = 30.0

HELLO_OUTPUT = ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


class CheckFailed(Exception):
    """A check did not hold; the message says what was expected and what came."""


def ok(what):
    print(f"ok    {what}", flush=True)


def expect(condition, what, got):
    if not condition:
        raise CheckFailed(f"{what}; got: {got!r}")


def expect_eq(got, want, what):
    if got != want:
        raise CheckFailed(f"{what}: expected {want!r}, got {got!r}")


def describe(status):
    return status.to_json() if status else status


async def wait_status(client, instance_id, wanted):
    """Polls until the instance has one of the `wanted` statuses and returns its status."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        status = await client.get_status(instance_id)
        if status and status.runtime_status in wanted:
            return status
        if time.monotonic() > deadline:
            names = sorted(s.value for s in wanted)
            raise CheckFailed(
                f"{instance_id} did not reach {names} within {TIMEOUT}s; "
                f"last status: {describe(status)!r}")
        await asyncio.sleep(0.05)


async def expect_raises(call, what):
    """Awaits `call`, which the SDK should turn into an exception; returns its message."""
    try:
        await call
    except CheckFailed:
        raise
    except Exception as error:  # the SDK raises plain `Exception`s
        return str(error)
    raise CheckFailed(f"{what}: expected the SDK to raise, but it returned normally")


def binding(base, hub):
    """The client binding as Azure's host hands it to a Python function: URL templates whose
    instance id is the placeholder `managementUrls["id"]`, and the RPC base URL."""
    query = f"taskHub={hub}&connection=Storage"
    instance = f"{base}/instances/INSTANCEID"
    start = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
    return {
        "taskHubName": hub,
        "creationUrls": {
            "createNewInstancePostUri": f"{start}?{query}",
            "createAndWaitOnNewInstancePostUri":
                f"{start}?timeout={{timeoutInSeconds}}"
                f"&pollingInterval={{intervalInSeconds}}&{query}",
        },
        "managementUrls": {
            "id": "INSTANCEID",
            "statusQueryGetUri": f"{instance}?{query}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{instance}?{query}",
            "restartPostUri": f"{instance}/restart?{query}",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
        },
        "rpcBaseUrl": f"{base}/",
    }


def ids_of(statuses):
    return {s.instance_id for s in statuses}


async def run_checks(origin, hub):
    base = f"{origin.rstrip('/')}/runtime/webhooks/durabletask"
    client = df.DurableOrchestrationClient(json.dumps(binding(base, hub)))
    # Ids unique to this run, so that runs against the same app do not meet.
    run = uuid.uuid4().hex[:8]

    def new_id(name):
        return f"py-{name}-{run}"

    # Whole milliseconds, so that a store keeping milliseconds cannot place the first
    # instance before it.
    now = datetime.now(timezone.utc)
    started_after = now.replace(microsecond=now.microsecond // 1000 * 1000)

    # --- start_new and get_status --------------------------------------------------------
    hello = new_id("hello")
    hello_input = {"cities": ["Tokyo", "Seattle", "London"], "note": "ünïcode"}
    got = await client.start_new("E1_HelloSequence", hello, hello_input)
    expect_eq(got, hello, "start_new with an instance id returns that id")
    first = await client.get_status(hello)
    expect(first and first.instance_id == hello and first.name == "E1_HelloSequence",
           "get_status right after start_new finds the instance", describe(first))
    status = await wait_status(client, hello, {Status.Completed})
    expect_eq(status.output, HELLO_OUTPUT, "E1_HelloSequence output")
    # The SDK's double encoding: the input comes back as the JSON text of the dict.
    expect(isinstance(status.input_, str) and json.loads(status.input_) == hello_input,
           "the input is the JSON text of the dict the SDK sent", status.input_)
    expect(status.created_time is not None
           and status.last_updated_time >= status.created_time,
           "createdTime and lastUpdatedTime parse, updated after created", describe(status))
    ok("start_new(name, id, dict input) -> id; get_status until Completed: output, input, times")

    auto = await client.start_new("E1_HelloSequence")
    expect(isinstance(auto, str) and auto and auto != hello,
           "start_new without an id returns a new id", auto)
    status = await wait_status(client, auto, {Status.Completed})
    expect(status.input_ is None and status.output == HELLO_OUTPUT,
           "an instance started without input has a null input", describe(status))
    ok("start_new(name) without id or input -> generated id; completes with a null input")

    # --- history --------------------------------------------------------------------------
    status = await client.get_status(hello, show_history=True, show_history_output=True)
    # Azure's JSON names the history `historyEvents`; the SDK keeps unknown fields as
    # attributes of the same name.
    events = getattr(status, "historyEvents", None)
    expect(isinstance(events, list), "show_history returns historyEvents", describe(status))
    expect_eq([e.get("EventType") for e in events],
              ["ExecutionStarted", "TaskCompleted", "TaskCompleted", "TaskCompleted",
               "ExecutionCompleted"],
              "history event types")
    expect_eq(events[0].get("FunctionName"), "E1_HelloSequence", "ExecutionStarted names it")
    tasks = [e for e in events if e.get("EventType") == "TaskCompleted"]
    expect_eq([e.get("FunctionName") for e in tasks], ["E1_SayHello"] * 3,
              "each TaskCompleted names its activity")
    expect_eq([e.get("Result") for e in tasks], HELLO_OUTPUT,
              "show_history_output shows each result")
    quiet = await client.get_status(hello, show_history=True)
    quiet_events = getattr(quiet, "historyEvents", None)
    expect(isinstance(quiet_events, list) and len(quiet_events) == len(events)
           and all("Result" not in e for e in quiet_events),
           "show_history without show_history_output hides results", describe(quiet))
    plain = await client.get_status(hello)
    expect(getattr(plain, "historyEvents", None) is None,
           "get_status without show_history has no history", describe(plain))
    ok("get_status(show_history, show_history_output): Azure's history events and results")

    # --- the binding's management URLs -----------------------------------------------------
    payload = client.create_http_management_payload(hello)
    expect_eq(payload["id"], hello, "create_http_management_payload id")
    async with aiohttp.ClientSession() as session:
        async with session.get(payload["statusQueryGetUri"]) as response:
            body = await response.json(content_type=None)
            expect(response.status == 200 and body.get("runtimeStatus") == "Completed",
                   "the statusQueryGetUri the SDK builds answers 200 Completed",
                   (response.status, body))
    ok("create_http_management_payload: its statusQueryGetUri (taskHub, connection) works")

    # --- suspend, resume, raise_event -------------------------------------------------------
    go = new_id("go")
    await client.start_new("Py_WaitForGo", go, "go input")
    await wait_status(client, go, {Status.Running})
    running = ids_of(await client.get_status_by(runtime_status=[Status.Running]))
    expect(go in running and hello not in running,
           "get_status_by([Running]) lists the waiting instance and not the finished one",
           running)
    ok("get_status_by(runtime_status=[Running])")

    await client.suspend(go, "paused by the test")
    await wait_status(client, go, {Status.Suspended})
    suspended = ids_of(await client.get_status_by(runtime_status=[Status.Suspended]))
    expect(go in suspended, "get_status_by([Suspended]) lists it", suspended)
    await client.resume(go, "resumed by the test")
    await wait_status(client, go, {Status.Running})
    ok("suspend -> Suspended; resume -> Running")

    await client.raise_event(go, "Go", {"answer": 42})
    status = await wait_status(client, go, {Status.Completed})
    output = status.output
    expect(isinstance(output, dict), "Py_WaitForGo returns an object", output)
    # Both arrived double-encoded, as the SDK sends them.
    expect_eq(json.loads(output["event"]), {"answer": 42}, "the event data reached it")
    expect_eq(json.loads(output["input"]), "go input", "its input reached it")
    ok("raise_event(id, 'Go', dict) reaches the orchestrator, which completes with the data")

    message = await expect_raises(client.raise_event(hello, "Go", 1),
                                  "raise_event to a completed instance")
    expect("gone" in message, "the SDK reports 410 Gone", message)
    nobody = new_id("nobody")
    message = await expect_raises(client.raise_event(nobody, "Go", 1),
                                  "raise_event to an unknown instance")
    expect("No instance" in message, "the SDK reports 404", message)
    ok("raise_event to a completed instance / an unknown id raises (410 / 404)")

    # --- terminate ---------------------------------------------------------------------------
    term = new_id("term")
    await client.start_new("Py_WaitForGo", term, "never goes")
    await wait_status(client, term, {Status.Running})
    await client.terminate(term, "enough waiting")
    status = await wait_status(client, term, {Status.Terminated})
    expect_eq(status.output, "enough waiting", "a terminated instance's output is the reason")
    # Azure answers 410 for a finished instance, which the SDK takes as done.
    await client.terminate(term, "again")
    status = await client.get_status(term)
    expect_eq(status.output, "enough waiting", "a second terminate changes nothing")
    ok("terminate(id, reason) -> Terminated with the reason; again -> no error, no change")

    # --- rewind ------------------------------------------------------------------------------
    fragile = new_id("rewind")
    await client.start_new("Py_FailOnce", fragile)
    status = await wait_status(client, fragile, {Status.Failed})
    expect("first call fails" in str(status.output),
           "a failed instance's output is the failure", status.output)
    await client.rewind(fragile, "try again")
    status = await wait_status(client, fragile, {Status.Completed})
    expect_eq(status.output, "recovered on call 2", "the rewound instance's output")
    await expect_raises(client.rewind(hello, "not failed"), "rewind of a completed instance")
    ok("rewind of a Failed instance -> Completed; rewind of a completed one raises")

    # --- restart -----------------------------------------------------------------------------
    # 1.7.0 returns the body of the 202 when it has one. Azure answers restart with the
    # check-status payload, so the SDK returns that dict, whose `id` is the instance id.
    restarted = await client.restart(hello, restart_with_new_instance_id=True)
    fresh = restarted["id"] if isinstance(restarted, dict) else restarted
    expect(isinstance(fresh, str) and fresh and fresh != hello,
           "restart with a new instance id runs under a new id", restarted)
    status = await wait_status(client, fresh, {Status.Completed})
    expect(status.name == "E1_HelloSequence" and status.output == HELLO_OUTPUT
           and json.loads(status.input_) == hello_input,
           "the restarted instance reruns with the original input", describe(status))
    ok("restart(id, restart_with_new_instance_id=True) -> new id, completes with the input")

    again = new_id("again")
    await client.start_new("Py_WaitForGo", again, "again input")
    await wait_status(client, again, {Status.Running})
    await client.terminate(again, "first life over")
    await wait_status(client, again, {Status.Terminated})
    restarted = await client.restart(again, restart_with_new_instance_id=False)
    same = restarted["id"] if isinstance(restarted, dict) else restarted
    expect_eq(same, again, "restart without a new instance id keeps the id")
    await wait_status(client, again, {Status.Running})
    await client.raise_event(again, "Go", "second life")
    status = await wait_status(client, again, {Status.Completed})
    expect_eq(json.loads(status.output["input"]), "again input", "the original input")
    expect_eq(json.loads(status.output["event"]), "second life", "the new event")
    ok("restart(id, restart_with_new_instance_id=False): Terminated -> Running -> Completed")

    # --- listing -----------------------------------------------------------------------------
    finished = {hello, auto, go, fragile, fresh, again}
    started = finished | {term}
    everything = ids_of(await client.get_status_all())
    expect(started <= everything, f"get_status_all lists all of {sorted(started)}",
           sorted(everything))
    since = ids_of(await client.get_status_by(created_time_from=started_after))
    expect(started <= since, "get_status_by(created_time_from) lists this run's instances",
           sorted(since))
    later = await client.get_status_by(created_time_from=datetime.now(timezone.utc)
                                       + timedelta(hours=1))
    expect_eq(ids_of(later), set(), "get_status_by(created_time_from=in an hour)")
    completed = ids_of(await client.get_status_by(created_time_from=started_after,
                                                  runtime_status=[Status.Completed]))
    expect_eq(completed, finished, "get_status_by(created_time_from, [Completed])")
    prefixed = ids_of(await client.get_status_by(instance_id_prefix=new_id("go")))
    expect_eq(prefixed, {go}, "get_status_by(instance_id_prefix)")
    ok("get_status_all; get_status_by(created_time_from, runtime_status, instance_id_prefix)")

    # --- purge -------------------------------------------------------------------------------
    result = await client.purge_instance_history(auto)
    expect_eq(result.instances_deleted, 1, "purge_instance_history instances_deleted")
    gone = await client.get_status(auto)
    expect(not gone, "a purged instance's status is falsy", describe(gone))
    result = await client.purge_instance_history(auto)
    expect_eq(result.instances_deleted, 0, "purging it again (404) deletes nothing")
    ok("purge_instance_history -> 1 deleted, status gone; again -> 0")

    busy = new_id("busy")
    await client.start_new("Py_WaitForGo", busy)
    await wait_status(client, busy, {Status.Running})
    message = await expect_raises(client.purge_instance_history(busy),
                                  "purge of a running instance")
    expect("412" in message, "the SDK reports Azure's 412", message)
    await client.terminate(busy, "not purgeable while running")
    await wait_status(client, busy, {Status.Terminated})
    ok("purge_instance_history of a running instance raises (412)")

    result = await client.purge_instance_history_by(created_time_from=started_after,
                                                    runtime_status=[Status.Completed])
    purged_by_filter = finished - {auto}
    expect_eq(result.instances_deleted, len(purged_by_filter),
              f"purge_instance_history_by([Completed]) count ({sorted(purged_by_filter)})")
    left = ids_of(await client.get_status_by(created_time_from=started_after))
    expect_eq(left, {term, busy}, "what is left: the terminated instances")
    ok("purge_instance_history_by(created_time_from, [Completed]) -> count; others kept")

    # --- errors the SDK handles ---------------------------------------------------------
    status = await client.get_status(nobody)
    expect(not status, "get_status of an unknown id is falsy", describe(status))
    ok("get_status of an unknown id -> falsy status")

    message = await expect_raises(client.start_new("Py_NoSuchOrchestrator"),
                                  "start_new of an unknown orchestrator")
    expect("no orchestrator function named `Py_NoSuchOrchestrator`" in message,
           "the SDK raises the app's ExceptionMessage", message)
    ok(f"start_new of an unknown orchestrator raises: {message}")

    # --- entities ----------------------------------------------------------------------
    # The function-based Counter of the samples. The SDK serializes the operation input and
    # aiohttp encodes it again, so `add 5` arrives as the JSON string "5"; the Counter reads
    # it as the number (as Json.NET converts it for a C# entity).
    counter_key = new_id("counter")
    counter = df.EntityId("Counter", counter_key)
    before = await client.read_entity_state(counter)
    expect(not before.entity_exists, "an entity never signalled does not exist",
           before.entity_state)
    await client.signal_entity(counter, "add", 5)
    deadline = time.monotonic() + TIMEOUT
    while True:
        state = await client.read_entity_state(counter)
        if state.entity_exists and state.entity_state == 5:
            break
        if time.monotonic() > deadline:
            raise CheckFailed(f"the Counter did not reach 5: exists={state.entity_exists}, "
                              f"state={state.entity_state!r}")
        await asyncio.sleep(0.05)
    ok("signal_entity(Counter, add, 5) -> read_entity_state: exists, 5")
    left = ids_of(await client.get_status_by(created_time_from=started_after))
    expect_eq(left, {term, busy}, "entities are not listed among orchestrations")
    ok("get_status_by leaves entities out")

    print("RESULT " + json.dumps({
        "purged": sorted(finished),
        "kept": {term: "enough waiting", busy: "not purgeable while running"},
        "counter": counter_key,
    }), flush=True)


async def main(origin, hub):
    try:
        await run_checks(origin, hub)
    finally:
        # The SDK keeps one aiohttp session for the process; close it before the loop ends.
        await http_utils._close_session()


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    try:
        asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "TestHubName"))
    except CheckFailed as failure:
        print(f"FAIL  {failure}", flush=True)
        sys.exit(1)
    except Exception as error:  # the SDK raising where a check expected none
        print(f"FAIL  the check after the last `ok` line: the SDK raised {error!r}", flush=True)
        traceback.print_exc()
        sys.exit(1)
