"""The offline monitor is called on the event loop's executor threads, as the engine's gRPC monitor would be.

A thread's first call may carry a resource reference (component outputs often do); deserializing one builds a
Resource and its Outputs, which need an event loop on the calling thread. Without one, the evaluation fails only
when thread scheduling makes such a call a thread's first - a flaky failure this test pins down deterministically.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

import pulumi_aws  # noqa: F401  (registers the aws resource modules that resource references are rebuilt from)
from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2

from caseshield.offline import RecordedResource, RecordingMonitor, _discard_pending

KEY_URN = "urn:pulumi:prod::caseshield::caseshield:keys:KeyHierarchy$aws:kms/key:Key::cs-prod-case-documents"
COMPONENT_URN = "urn:pulumi:prod::caseshield::caseshield:keys:KeyHierarchy::keys"


def outputs_with_a_resource_reference() -> struct_pb2.Struct:
    outputs = struct_pb2.Struct()
    outputs.update({"documentsKey": {rpc._special_sig_key: rpc._special_resource_sig, "urn": KEY_URN, "id": "key-1"}})
    return outputs


def in_a_fresh_thread(call: Callable[[], object]) -> BaseException | None:
    failure: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:  # handed back to the test thread
            failure.append(error)
        finally:  # the rebuilt resource left tasks on this thread's loop: finish them, as an evaluation would
            with contextlib.suppress(RuntimeError):
                _discard_pending(asyncio.get_event_loop())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return failure[0] if failure else None


def test_component_outputs_with_resource_references_deserialize_on_a_fresh_thread() -> None:
    monitor = RecordingMonitor.__new__(RecordingMonitor)  # no mocks needed: only the outputs path runs
    monitor.recorded = {COMPONENT_URN: RecordedResource(
        urn=COMPONENT_URN, type="caseshield:keys:KeyHierarchy", name="keys", parent=None, custom=False, inputs={},
        options={}, property_dependencies={}, dependencies=[], provider=None, id=None)}
    request = resource_pb2.RegisterResourceOutputsRequest(urn=COMPONENT_URN, outputs=outputs_with_a_resource_reference())

    assert in_a_fresh_thread(lambda: monitor.RegisterResourceOutputs(request)) is None
    reference = monitor.recorded[COMPONENT_URN].outputs["documentsKey"]
    assert type(reference).__name__ == "Key"

