#!/usr/bin/env python3
"""The Python client package (proto/python) against a real coordinator and worker on loopback:
typed errors carry the coordinator's message; a job is submitted, watched through a coordinator
restart (the watch reconnects and resumes), its results paged, its front and best read; a second
job is cancelled. Run with the interpreter of a virtual environment the package is installed in
(tests/python/client_test.sh does that). Usage: client_test.py COORDINATOR_BIN WORKER_BIN"""

import os
import socket
import subprocess
import sys
import tempfile
import time

import phaze_client
from phaze_client import Client, service_pb2

JOB = """
name: python-client
model: {base: megatrongpt2-54, name: gpt-tiny, layers: 2, seq_len: 128}
training: {accelerators: 8, global_batch: 16, micro_batch_sizes: [1], max_tensor_width: 2}
architecture:
  space: {num_tc: [4, 16], num_vc: [4], tc_width: [64, 128], tc_depth: [128], glb_mib: [32],
          max_area_preset: tpuv4}
  hbm_gib: [4]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Coordinator:
    def __init__(self, binary, work, port, env):
        self.args = [binary, "--listen", f"127.0.0.1:{port}", "--database",
                     os.path.join(work, "py.db")]
        self.log_path = os.path.join(work, "coordinator.log")
        self.env = env
        self.process = None

    def start(self):
        log = open(self.log_path, "w+")
        self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT,
                                        env=self.env)
        for _ in range(400):
            log.seek(0)
            if any(line.startswith("listening on ") for line in log.read().splitlines()):
                return
            assert self.process.poll() is None, open(self.log_path).read()
            time.sleep(0.05)
        raise AssertionError("coordinator did not start")

    def kill(self):
        if self.process:
            self.process.kill()
            self.process.wait()


def main() -> int:
    coordinator_bin, worker_bin = sys.argv[1:3]
    work = tempfile.mkdtemp(prefix="phaze_py_")
    token = "python-test-token"
    env = dict(os.environ, PHAZE_TOKEN=token, PHAZE_WORKER_TOKEN=token + "-worker")
    port = free_port()
    address = f"127.0.0.1:{port}"
    coordinator = Coordinator(coordinator_bin, work, port, env)
    coordinator.start()
    worker = None
    try:
        # Typed errors with the coordinator's message.
        try:
            Client(address, token="wrong").jobs()
            raise AssertionError("a wrong token was served")
        except phaze_client.Unauthenticated as e:
            print("unauthenticated:", e.message)
        client = Client(address, token=token)
        try:
            client.submit("name: x\nmodel: nope\narchitecture: {preset: tpuv4}\n")
            raise AssertionError("a bad job was accepted")
        except phaze_client.InvalidArgument as e:
            assert "model" in e.message, e.message
        try:
            client.job("job-999999")
            raise AssertionError("an unknown job was found")
        except phaze_client.NotFound:
            pass

        # Submit with no worker running: the job cannot finish while the coordinator restarts.
        path = os.path.join(work, "job.yaml")
        with open(path, "w") as f:
            f.write(JOB)
        job = client.submit(path)
        assert job.id.startswith("job-") and not job.done, job
        updates, restarted = 0, False
        for status in job.watch(reconnect_timeout_s=60):
            updates += 1
            if not restarted:
                coordinator.kill()
                coordinator.start()
                restarted = True
                worker = subprocess.Popen([worker_bin, "--coordinator", address, "--threads", "2"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          env=env)
        final = job.status
        assert restarted and final.state == service_pb2.JOB_STATE_SUCCEEDED, final
        assert final.candidates_done == final.candidates_total > 0, final

        # Results, two per page: every candidate once, in order.
        results = list(job.results(page_size=2))
        indices = [r.candidate.index for r in results]
        assert len(results) == final.candidates_total, (len(results), final.candidates_total)
        assert indices == sorted(set(indices)), indices
        front = job.front()
        assert len(front) == final.front_size >= 1, (len(front), final.front_size)
        best = job.best()
        assert best is not None and best.throughput_samples_per_s > 0
        assert best.throughput_samples_per_s >= max(p.throughput_samples_per_s for p in front)
        assert any(j.id == job.id for j in client.jobs())

        # Cancel: stop the worker first so that the second job is still running.
        worker.kill()
        worker.wait()
        second = client.submit(JOB.replace("python-client", "python-cancel"))
        cancelled = second.cancel()
        assert cancelled.state == service_pb2.JOB_STATE_CANCELLED, cancelled
        assert second.wait().state == service_pb2.JOB_STATE_CANCELLED
        print(f"python client: {job.id} succeeded after {updates} updates through a restart, "
              f"{len(results)} results in pages of 2, front {len(front)} points, best "
              f"{best.throughput_samples_per_s:.4g} samples/s; {second.id} cancelled")
        return 0
    finally:
        if worker:
            worker.kill()
        coordinator.kill()


if __name__ == "__main__":
    sys.exit(main())
