#!/usr/bin/env python3
"""A hostile client written from the protos against a real coordinator on loopback: role
violations, guessed and foreign leases, forged results, oversize messages, overflowing spaces and
bad page tokens. Each call must fail with the documented status code, and nothing of it may be
stored. Run with the interpreter of a virtual environment the client package is installed in
(tests/python/client_test.sh SOURCE COORDINATOR WORKER hostile_test.py does that).
Usage: hostile_test.py COORDINATOR_BIN"""

import os
import sys
import tempfile
import time

import grpc
from phaze.v1 import phaze_pb2, service_pb2, service_pb2_grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import client_test  # noqa: E402
from client_test import Coordinator, free_port  # noqa: E402

USER, WORKER = "hostile-user-token", "hostile-worker-token"

# The client test's job, searched exhaustively (so that a PRUNED result is a forgery).
JOB = client_test.JOB.replace("name: python-client", "name: target") + \
    "search: {strategy: exhaustive}\n"

checks = 0


def meta(token):
    return (("authorization", "Bearer " + token),)


def expect_code(code, what, call):
    """Runs call(); it must raise an RpcError with `code`. Returns the error's details."""
    global checks
    try:
        call()
    except grpc.RpcError as e:
        assert e.code() == code, f"{what}: {e.code()} ({e.details()}), expected {code}"
        checks += 1
        print(f"ok {code.name:20s} {what}: {e.details()[:110]}")
        return e.details()
    raise AssertionError(f"{what}: accepted, expected {code}")


def report(dispatch, lease_id, job_id, result=None):
    """One ReportResults stream with one report (a heartbeat without `result`)."""
    r = service_pb2.ResultReport(lease_id=lease_id, job_id=job_id)
    if result is not None:
        r.result.CopyFrom(result)
    return dispatch.ReportResults(iter([r]), metadata=meta(WORKER), timeout=30)


def forged(candidate, outcome, points=()):
    r = phaze_pb2.CandidateResult(outcome=outcome)
    r.candidate.index = candidate
    r.candidate.arch_index = candidate  # one micro-batch size: candidate = architecture
    r.candidate.micro_batch_size = 1
    for throughput in points:
        for recompute in (phaze_pb2.RECOMPUTE_NONE, phaze_pb2.RECOMPUTE_FULL):
            p = r.points.add(hbm_bytes=4 << 30, recompute=recompute)
            p.search.feasible = True
            p.search.strategy.pipeline = p.search.strategy.data = p.search.strategy.tensor = 1
            p.search.throughput_samples_per_s = throughput
            p.search.time_per_batch_s = 16 / throughput
    return r


def main() -> int:
    coordinator_bin = sys.argv[1]
    work = tempfile.mkdtemp(prefix="phaze_hostile_")
    env = dict(os.environ, PHAZE_TOKEN=USER, PHAZE_WORKER_TOKEN=WORKER)
    port = free_port()
    coordinator = Coordinator(coordinator_bin, work, port, env)
    coordinator.start()
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}",
                                        options=[("grpc.max_send_message_length", 64 << 20)])
        api = service_pb2_grpc.CoordinatorStub(channel)
        dispatch = service_pb2_grpc.DispatchStub(channel)
        UNAUTH = grpc.StatusCode.UNAUTHENTICATED
        INVALID = grpc.StatusCode.INVALID_ARGUMENT

        def submit(yaml, token=USER):
            text = yaml if isinstance(yaml, bytes) else yaml.encode("utf-8")
            return api.SubmitJob(service_pb2.SubmitJobRequest(spec=phaze_pb2.JobSpec(yaml=text)),
                                 metadata=meta(token), timeout=60)

        job = submit(JOB)
        other = submit(JOB.replace("name: target", "name: other"))

        # Roles: users cannot lease or report, workers cannot submit, cancel or list.
        expect_code(UNAUTH, "user token on LeaseShard", lambda: dispatch.LeaseShard(
            service_pb2.LeaseRequest(worker_id="u"), metadata=meta(USER), timeout=10))
        expect_code(UNAUTH, "user token on ReportResults",
                    lambda: dispatch.ReportResults(iter([]), metadata=meta(USER), timeout=10))
        expect_code(UNAUTH, "worker token on SubmitJob", lambda: submit(JOB, WORKER))
        expect_code(UNAUTH, "worker token on CancelJob", lambda: api.CancelJob(
            service_pb2.CancelJobRequest(job_id=job.job_id), metadata=meta(WORKER), timeout=10))
        expect_code(UNAUTH, "worker token on ListJobs", lambda: api.ListJobs(
            service_pb2.ListJobsRequest(), metadata=meta(WORKER), timeout=10))

        lease = dispatch.LeaseShard(service_pb2.LeaseRequest(worker_id="hostile"),
                                    metadata=meta(WORKER), timeout=10)
        assert lease.lease_id and lease.job_id == job.job_id, lease
        inside = lease.candidates[0]
        outside = max(lease.candidates) + 1
        assert len(lease.lease_id) > 30, "lease ids must be unguessable: " + lease.lease_id

        # Leases: guessed, of another job, for a candidate outside the lease.
        expect_code(grpc.StatusCode.FAILED_PRECONDITION, "a guessed lease id",
                    lambda: report(dispatch, "lease-1-hostile", job.job_id,
                                   forged(inside, phaze_pb2.OUTCOME_ERROR)))
        expect_code(grpc.StatusCode.PERMISSION_DENIED, "a live lease used for another job",
                    lambda: report(dispatch, lease.lease_id, other.job_id,
                                   forged(inside, phaze_pb2.OUTCOME_ERROR)))
        expect_code(grpc.StatusCode.PERMISSION_DENIED, "a candidate outside the lease",
                    lambda: report(dispatch, lease.lease_id, job.job_id,
                                   forged(outside, phaze_pb2.OUTCOME_ERROR)))

        # Forged results on the live lease.
        expect_code(INVALID, "1e300 samples/s", lambda: report(
            dispatch, lease.lease_id, job.job_id, forged(inside, phaze_pb2.OUTCOME_FEASIBLE,
                                                         [1e300])))
        expect_code(INVALID, "INFEASIBLE without its points", lambda: report(
            dispatch, lease.lease_id, job.job_id, forged(inside, phaze_pb2.OUTCOME_INFEASIBLE)))
        expect_code(INVALID, "PRUNED in an exhaustive job", lambda: report(
            dispatch, lease.lease_id, job.job_id, forged(inside, phaze_pb2.OUTCOME_PRUNED)))
        huge_name = forged(inside, phaze_pb2.OUTCOME_ERROR)
        huge_name.error = "x" * (1 << 20)
        expect_code(INVALID, "a 1 MiB error text",
                    lambda: report(dispatch, lease.lease_id, job.job_id, huge_name))
        wide = forged(inside, phaze_pb2.OUTCOME_FEASIBLE, [1.0])
        wide.points[0].search.strategy.data = 1 << 40
        expect_code(INVALID, "a strategy beyond the accelerators",
                    lambda: report(dispatch, lease.lease_id, job.job_id, wide))

        # The acknowledgement tells the truth: a heartbeat on the live lease is valid, accepted 0.
        ack = report(dispatch, lease.lease_id, job.job_id)
        assert ack.lease_valid and ack.accepted == 0, ack

        # Oversize and overflowing submissions, refused before any work.
        expect_code(grpc.StatusCode.RESOURCE_EXHAUSTED, "a 30 MiB submission",
                    lambda: submit(JOB + "# " + "y" * (30 << 20) + "\n"))
        expect_code(INVALID, "a 2 MiB job file", lambda: submit(JOB + "# " + "y" * (2 << 20)))
        values = "[" + ", ".join(str(v) for v in range(1, 2049)) + "]"
        overflow = (f"name: overflow\nmodel: bertlarge\ntraining: {{accelerators: 8, "
                    f"global_batch: 8}}\narchitecture:\n  space: {{num_tc: {values}, num_vc: "
                    f"{values}, tc_width: {values}, tc_depth: {values}, vc_width: {values}, "
                    f"glb_mib: {values}}}\n")
        started = time.monotonic()
        expect_code(INVALID, "a space of 2048^6 candidates", lambda: submit(overflow))
        print(f"   refused in {time.monotonic() - started:.3f} s")
        expect_code(INVALID, "a name with an escape sequence",
                    lambda: submit(JOB.replace("name: target", 'name: "\\e[2Jgone"')))
        expect_code(INVALID, "a key given twice", lambda: submit(JOB + "name: again\n"))
        expect_code(INVALID, "YAML that is not UTF-8",
                    lambda: submit(JOB.encode("utf-8").replace(b"target", b"caf\xe9")))
        expect_code(INVALID, "a NUL in the YAML",
                    lambda: submit(JOB.encode("utf-8").replace(b"target", b"tar\x00get")))
        expect_code(INVALID, "a results page token ' 5'", lambda: api.ListResults(
            service_pb2.ListResultsRequest(job_id=job.job_id, page_token=" 5"),
            metadata=meta(USER), timeout=10))
        expect_code(INVALID, "a negative page size", lambda: api.ListResults(
            service_pb2.ListResultsRequest(job_id=job.job_id, page_size=-1),
            metadata=meta(USER), timeout=10))

        # Nothing of the above was stored: two jobs, no results, nothing done.
        jobs = api.ListJobs(service_pb2.ListJobsRequest(), metadata=meta(USER), timeout=10).jobs
        assert [j.name for j in jobs] == ["target", "other"], [j.name for j in jobs]
        assert not any(j.HasField("spec") for j in jobs), "ListJobs must not carry job bodies"
        for j in (job, other):
            status = api.GetJob(service_pb2.GetJobRequest(job_id=j.job_id), metadata=meta(USER),
                                timeout=10)
            assert status.candidates_done == 0, status
            page = api.ListResults(service_pb2.ListResultsRequest(job_id=j.job_id),
                                   metadata=meta(USER), timeout=10)
            assert len(page.results) == 0, page
        print(f"hostile client: {checks} refusals with the documented code, nothing stored")
        return 0
    finally:
        coordinator.kill()


if __name__ == "__main__":
    sys.exit(main())
