#!/usr/bin/env python3
"""A client written from the proto files alone, in Python: it generates its stubs from proto/,
starts a real coordinator and worker on loopback, submits a small job, watches it to the end and
checks the outcome. Usage: client_test.py PROTO_DIR COORDINATOR_BIN WORKER_BIN"""

import os
import subprocess
import sys
import tempfile
import time


def main() -> int:
    proto_dir, coordinator_bin, worker_bin = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix="phaze_py_")
    from grpc_tools import protoc  # Debian's python3-grpc-tools

    for name in ("phaze/v1/phaze.proto", "phaze/v1/service.proto"):
        rc = protoc.main(["protoc", f"-I{proto_dir}", f"--python_out={work}",
                          f"--grpc_python_out={work}", os.path.join(proto_dir, name)])
        assert rc == 0, f"protoc failed on {name}"
    sys.path.insert(0, work)
    import grpc
    from phaze.v1 import phaze_pb2, service_pb2, service_pb2_grpc

    token = "python-test-token"
    env = dict(os.environ, PHAZE_TOKEN=token)
    auth = [("authorization", f"Bearer {token}")]
    log = open(os.path.join(work, "coordinator.log"), "w+")
    coordinator = subprocess.Popen(
        [coordinator_bin, "--listen", "127.0.0.1:0", "--database", os.path.join(work, "py.db")],
        stdout=log, env=env)
    worker = None
    try:
        address = None
        for _ in range(200):
            log.seek(0)
            for line in log.read().splitlines():
                if line.startswith("listening on "):
                    address = line[len("listening on "):]
            if address:
                break
            time.sleep(0.05)
        assert address, "coordinator did not start"
        worker = subprocess.Popen([worker_bin, "--coordinator", address, "--threads", "1"],
                                  stdout=subprocess.DEVNULL, env=env)
        stub = service_pb2_grpc.CoordinatorStub(grpc.insecure_channel(address))

        # Without the token: UNAUTHENTICATED.
        try:
            stub.ListJobs(service_pb2.ListJobsRequest())
            raise AssertionError("an unauthenticated call was served")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNAUTHENTICATED, e.code()

        # A bad job is refused with INVALID_ARGUMENT naming the field.
        try:
            stub.SubmitJob(service_pb2.SubmitJobRequest(
                spec=phaze_pb2.JobSpec(yaml="name: x\nmodel: nope\narchitecture: {preset: tpuv4}\n")),
                metadata=auth)
            raise AssertionError("a bad job was accepted")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code()
            assert "model" in e.details(), e.details()

        job = """
name: python-client
model: {base: megatrongpt2-54, name: gpt-tiny, layers: 2, seq_len: 128}
training: {accelerators: 8, global_batch: 16, micro_batch_sizes: [1], max_tensor_width: 2}
architecture:
  space: {num_tc: [4, 16], num_vc: [4], tc_width: [64, 128], tc_depth: [128], glb_mib: [32],
          max_area_preset: tpuv4}
  hbm_gib: [4]
"""
        status = stub.SubmitJob(service_pb2.SubmitJobRequest(spec=phaze_pb2.JobSpec(yaml=job)),
                                metadata=auth)
        assert status.job_id.startswith("job-"), status
        updates = 0
        last = None
        for last in stub.WatchJob(service_pb2.WatchJobRequest(job_id=status.job_id), timeout=300,
                                  metadata=auth):
            updates += 1
        assert last is not None and last.state == service_pb2.JOB_STATE_SUCCEEDED, last
        assert last.candidates_done == last.candidates_total > 0, last
        assert last.best.throughput_samples_per_s > 0, last
        results = stub.ListResults(service_pb2.ListResultsRequest(job_id=status.job_id),
                                   metadata=auth)
        assert len(results.results) == last.candidates_total, len(results.results)
        assert len(results.front) == last.front_size >= 1
        print(f"python client: {status.job_id} succeeded after {updates} updates, "
              f"best {last.best.throughput_samples_per_s:.4g} samples/s, "
              f"front {last.front_size} points")
        return 0
    finally:
        if worker:
            worker.kill()
        coordinator.kill()


if __name__ == "__main__":
    sys.exit(main())
