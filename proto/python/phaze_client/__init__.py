"""Python client of the Phaze coordinator (proto/phaze/v1/service.proto).

    from phaze_client import Client

    client = Client("127.0.0.1:50051", token="...")
    job = client.submit("examples/quickstart.yaml")       # a path, or the YAML text itself
    for status in job.watch():                            # reconnects if the coordinator restarts
        print(status.candidates_done, "/", status.candidates_total)
    best = job.best()                                     # DesignPointSummary, or None
    for result in job.results():                          # every CandidateResult, page by page
        ...
    front = job.front()                                   # [DesignPointSummary]

Messages are the generated protobuf classes (`phaze.v1.service_pb2`, `phaze.v1.phaze_pb2`);
their fields carry units in their names (`area_um2`, `throughput_samples_per_s`). Every failed
call raises a `PhazeError` subclass that carries the coordinator's status code and message.
"""

from __future__ import annotations

import os
import time
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import grpc

from phaze.v1 import phaze_pb2, service_pb2, service_pb2_grpc

__all__ = [
    "Client", "Job", "Tls", "PhazeError", "InvalidArgument", "NotFound", "Unauthenticated",
    "PermissionDenied", "Unavailable", "ResourceExhausted", "FailedPrecondition",
    "DeadlineExceeded", "phaze_pb2", "service_pb2",
]

_TERMINAL = {
    service_pb2.JOB_STATE_SUCCEEDED, service_pb2.JOB_STATE_CANCELLED, service_pb2.JOB_STATE_FAILED
}


class PhazeError(Exception):
    """A call the coordinator refused or could not serve: `code` (grpc.StatusCode) and the
    coordinator's own `message` (which names what is wrong)."""

    def __init__(self, code: grpc.StatusCode, message: str, call: str):
        self.code = code
        self.message = message
        self.call = call
        super().__init__(f"{call}: {code.name}: {message}")


class InvalidArgument(PhazeError):
    """Bad input: a job file, job id or page token the coordinator rejects."""


class NotFound(PhazeError):
    """No such job."""


class Unauthenticated(PhazeError):
    """No token, or a wrong one."""


class PermissionDenied(PhazeError):
    """The token may not make this call."""


class Unavailable(PhazeError):
    """The coordinator cannot be reached (down, restarting, wrong address)."""


class ResourceExhausted(PhazeError):
    """A limit of the coordinator (space size, message size, queue) was hit."""


class FailedPrecondition(PhazeError):
    """The job is not in a state that allows the call."""


class DeadlineExceeded(PhazeError):
    """The call did not finish in time."""


_ERRORS = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
}


def _error(e: grpc.RpcError, call: str) -> PhazeError:
    code = e.code() if hasattr(e, "code") else grpc.StatusCode.UNKNOWN
    details = e.details() if hasattr(e, "details") else str(e)
    return _ERRORS.get(code, PhazeError)(code, details or "", call)


class Tls:
    """TLS to the coordinator: `ca` is the PEM file of roots that verify its certificate; `cert`
    and `key` a client certificate for mutual TLS (as `phaze --tls-ca/--tls-cert/--tls-key`)."""

    def __init__(self, ca: Optional[str] = None, cert: Optional[str] = None,
                 key: Optional[str] = None):
        if (cert is None) != (key is None):
            raise ValueError("Tls: cert and key must be given together")
        self.ca, self.cert, self.key = ca, cert, key

    def credentials(self) -> grpc.ChannelCredentials:
        def read(path):
            if path is None:
                return None
            with open(path, "rb") as f:
                return f.read()
        return grpc.ssl_channel_credentials(root_certificates=read(self.ca),
                                            private_key=read(self.key),
                                            certificate_chain=read(self.cert))


class Client:
    """A connection to one coordinator.

    address: "host:port". token: the bearer token (default: $PHAZE_TOKEN). tls: None for
    plaintext, True for TLS with the system's roots, or a `Tls`. timeout_s: the deadline of each
    unary call.
    """

    def __init__(self, address: str, token: Optional[str] = None,
                 tls: Union[None, bool, Tls] = None, timeout_s: float = 60.0):
        self.address = address
        token = os.environ.get("PHAZE_TOKEN") if token is None else token
        self._metadata: Sequence[Tuple[str, str]] = (
            [("authorization", f"Bearer {token}")] if token else [])
        # Reconnect quickly after a coordinator restart (gRPC's default backoff grows to 120 s).
        options = [("grpc.initial_reconnect_backoff_ms", 100),
                   ("grpc.min_reconnect_backoff_ms", 100),
                   ("grpc.max_reconnect_backoff_ms", 2000)]
        if tls is None or tls is False:
            self._channel = grpc.insecure_channel(address, options=options)
        else:
            creds = tls.credentials() if isinstance(tls, Tls) else grpc.ssl_channel_credentials()
            self._channel = grpc.secure_channel(address, creds, options=options)
        self._stub = service_pb2_grpc.CoordinatorStub(self._channel)
        self.timeout_s = timeout_s

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, name: str, request):
        try:
            return getattr(self._stub, name)(request, timeout=self.timeout_s,
                                             metadata=self._metadata)
        except grpc.RpcError as e:
            raise _error(e, name) from None

    def submit(self, job: str) -> "Job":
        """Submits a job: `job` is the path of a YAML job file or the YAML text itself."""
        text = job
        if "\n" not in job and os.path.isfile(job):
            with open(job, encoding="utf-8") as f:
                text = f.read()
        status = self._call("SubmitJob", service_pb2.SubmitJobRequest(
            spec=phaze_pb2.JobSpec(yaml=text.encode("utf-8"))))
        return Job(self, status.job_id, status)

    def job(self, job_id: str) -> "Job":
        """The job with this id (raises NotFound if there is none)."""
        return Job(self, job_id, self._call("GetJob", service_pb2.GetJobRequest(job_id=job_id)))

    def jobs(self) -> List["Job"]:
        """Every job the coordinator holds, oldest first."""
        jobs, token = [], ""
        while True:  # paged; statuses come without the job body
            page = self._call("ListJobs", service_pb2.ListJobsRequest(page_token=token))
            jobs.extend(Job(self, s.job_id, s) for s in page.jobs)
            token = page.next_page_token
            if not token:
                return jobs


class Job:
    """One submitted job. `status` is the last JobStatus seen (refresh() fetches a new one)."""

    def __init__(self, client: Client, job_id: str, status: service_pb2.JobStatus):
        self.client = client
        self.id = job_id
        self.status = status

    def __repr__(self) -> str:
        return (f"Job({self.id!r}, {service_pb2.JobState.Name(self.status.state)}, "
                f"{self.status.candidates_done}/{self.status.candidates_total})")

    @property
    def done(self) -> bool:
        return self.status.state in _TERMINAL

    def refresh(self) -> service_pb2.JobStatus:
        self.status = self.client._call("GetJob", service_pb2.GetJobRequest(job_id=self.id))
        return self.status

    def watch(self, reconnect_timeout_s: float = 120.0) -> Iterator[service_pb2.JobStatus]:
        """Yields the job's status as it changes, until it succeeds, fails or is cancelled.

        When the stream breaks because the coordinator is unreachable (a restart, a network
        blip), it reconnects with backoff, for up to `reconnect_timeout_s` without contact, and
        resumes; then it raises Unavailable. Other errors raise at once.
        """
        last_contact = time.monotonic()
        backoff_s = 0.1
        while True:
            try:
                stream = self.client._stub.WatchJob(
                    service_pb2.WatchJobRequest(job_id=self.id), metadata=self.client._metadata)
                for status in stream:
                    last_contact = time.monotonic()
                    backoff_s = 0.1
                    self.status = status
                    yield status
                    if status.state in _TERMINAL:
                        return
                # The stream ended without a final state: ask once, then watch again.
                if self.refresh().state in _TERMINAL:
                    yield self.status
                    return
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE:
                    raise _error(e, "WatchJob") from None
                if time.monotonic() - last_contact > reconnect_timeout_s:
                    raise _error(e, "WatchJob") from None
                time.sleep(backoff_s)
                backoff_s = min(2.0, backoff_s * 2)
            except Unavailable:
                if time.monotonic() - last_contact > reconnect_timeout_s:
                    raise
                time.sleep(backoff_s)
                backoff_s = min(2.0, backoff_s * 2)

    def wait(self, reconnect_timeout_s: float = 120.0) -> service_pb2.JobStatus:
        """Watches to the end and returns the final status."""
        for _ in self.watch(reconnect_timeout_s):
            pass
        return self.status

    def results(self, page_size: int = 100) -> Iterator[phaze_pb2.CandidateResult]:
        """Every stored CandidateResult, in candidate order, fetched `page_size` at a time."""
        token = ""
        while True:
            page = self.client._call("ListResults", service_pb2.ListResultsRequest(
                job_id=self.id, page_size=page_size, page_token=token))
            yield from page.results
            token = page.next_page_token
            if not token:
                return

    def front(self) -> List[service_pb2.DesignPointSummary]:
        """The Pareto front (throughput up; area, TDP and energy per sample down, as the job weighs them)."""
        page = self.client._call("ListResults", service_pb2.ListResultsRequest(
            job_id=self.id, page_size=1, front_only=True))
        return list(page.front)

    def best(self) -> Optional[service_pb2.DesignPointSummary]:
        """The highest-throughput design point so far, or None if none is feasible yet."""
        status = self.refresh()
        return status.best if status.HasField("best") else None

    def cancel(self) -> service_pb2.JobStatus:
        self.status = self.client._call("CancelJob", service_pb2.CancelJobRequest(job_id=self.id))
        return self.status
