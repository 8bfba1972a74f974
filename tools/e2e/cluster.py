"""A throwaway Kubernetes control plane on loopback: etcd, kube-apiserver and
kube-controller-manager, with a CA, serving certificate and service-account key made by
openssl and one bearer token. No node and no kubelet: pods are created (and counted against
quotas, and admitted by Pod Security) but never run.

As a library (helper code that wants the real server's verdict on an object)::

    import sys; sys.path.insert(0, "tools/e2e")
    from cluster import LocalCluster, binaries

    with LocalCluster(binaries()) as api:
        api.kubectl("apply", "--server-side", "-f", "crds.yaml")
        verdict = api.dry_run(obj)          # server-side apply with dryRun=All
        verdict.accepted, verdict.message, verdict.warnings

As a command, ``python tools/e2e/cluster.py up DIR`` starts one and keeps it until
interrupted, printing the kubeconfig to use (``KUBECONFIG=DIR/kubeconfig kubectl ...``).

Flags and their meaning: docs/reference/e2e.md (kube-apiserver and kube-controller-manager
v1.36.3, etcd v3.6.8 option tables).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KUBE_MODULE = REPO / "tools" / "e2e" / "kube"
BUILD = REPO / "tools" / "gotools" / "build.sh"
KUBERNETES_VERSION = "v1.36.3"
PROGRAMS = {
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "etcd": "go.etcd.io/etcd/server/v3",
}
#: What `kubectl version` and discovery report: the release the module pins.
VERSION_LDFLAGS = " ".join(
    f"-X k8s.io/component-base/version.{name}={value}"
    for name, value in {
        "gitVersion": KUBERNETES_VERSION,
        "gitMajor": "1",
        "gitMinor": KUBERNETES_VERSION.split(".")[1],
        "gitTreeState": "clean",
    }.items()
)
START_TIMEOUT_S = 120.0


class ClusterError(Exception):
    """The control plane could not be built or started; the message says which part and why."""


def binaries() -> dict[str, Path]:
    """Build (or find in the cache) the pinned etcd, kube-apiserver and kube-controller-manager."""
    proc = subprocess.run(
        [str(BUILD), str(KUBE_MODULE), "-ldflags", VERSION_LDFLAGS, *PROGRAMS.values()],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ClusterError(f"building the control plane failed ({BUILD} exited {proc.returncode})")
    folder = Path(proc.stdout.strip().splitlines()[-1])
    # `go build` names a program after its package path less a major-version suffix:
    # go.etcd.io/etcd/server/v3 becomes "server".
    found = {
        "kube-apiserver": folder / "kube-apiserver",
        "kube-controller-manager": folder / "kube-controller-manager",
    }
    found["etcd"] = folder / "server"
    for name, path in found.items():
        if not path.is_file():
            raise ClusterError(f"{name}: expected {path} after the build")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args[:2])} failed: {proc.stderr.strip()}")


def make_pki(folder: Path) -> None:
    """A CA, a serving certificate for 127.0.0.1/localhost signed by it, and the
    service-account signing key pair."""
    folder.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=llmfleet-e2e-ca",
            "-keyout", "ca.key", "-out", "ca.crt", cwd=folder)  # fmt: skip
    (folder / "san.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n"
        "extendedKeyUsage=serverAuth\n"
    )
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver",
            "-keyout", "server.key", "-out", "server.csr", cwd=folder)  # fmt: skip
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.cnf", "-out", "server.crt", cwd=folder)  # fmt: skip
    openssl("genrsa", "-out", "sa.key", "2048", cwd=folder)
    openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=folder)


@dataclass
class Verdict:
    """The server's answer to one object: accepted or not, its message, its warnings."""

    accepted: bool
    code: int
    message: str
    warnings: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass
class LocalCluster:
    bins: dict[str, Path]
    workdir: Path | None = None
    controllers: bool = True
    verbose: bool = False
    token: str = field(default_factory=lambda: secrets.token_hex(24), repr=False)
    _procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list, repr=False)
    _tmp: tempfile.TemporaryDirectory | None = field(default=None, repr=False)
    _resources: dict[str, tuple[str, bool]] = field(default_factory=dict, repr=False)

    # -- life cycle ------------------------------------------------------------------

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def kubeconfig(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "kubeconfig"

    def start(self) -> None:
        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="llmfleet-e2e-")
            self.workdir = Path(self._tmp.name)
        work = self.workdir
        work.mkdir(parents=True, exist_ok=True)
        pki = work / "pki"
        make_pki(pki)
        (work / "tokens.csv").write_text(
            f'{self.token},llmfleet-e2e-admin,llmfleet-e2e-admin,"system:masters"\n'
        )
        os.chmod(work / "tokens.csv", 0o600)
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        self.server = f"https://127.0.0.1:{api_port}"
        self._write_kubeconfig(pki / "ca.crt")
        try:
            self._spawn(
                "etcd",
                [
                    str(self.bins["etcd"]),
                    "--name=e2e",
                    f"--data-dir={work / 'etcd'}",
                    f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
                    f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
                    f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                    f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                    f"--initial-cluster=e2e=http://127.0.0.1:{peer_port}",
                    "--listen-metrics-urls=",
                    "--unsafe-no-fsync",  # a throwaway store: durability buys nothing here
                    "--log-level=error",
                ],
            )
            self._spawn(
                "kube-apiserver",
                [
                    str(self.bins["kube-apiserver"]),
                    f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                    "--bind-address=127.0.0.1",
                    "--advertise-address=127.0.0.1",
                    f"--secure-port={api_port}",
                    f"--cert-dir={work / 'apiserver-certs'}",
                    f"--tls-cert-file={pki / 'server.crt'}",
                    f"--tls-private-key-file={pki / 'server.key'}",
                    f"--client-ca-file={pki / 'ca.crt'}",
                    f"--token-auth-file={work / 'tokens.csv'}",
                    "--authorization-mode=RBAC",
                    "--service-account-issuer=https://kubernetes.default.svc",
                    f"--service-account-key-file={pki / 'sa.pub'}",
                    f"--service-account-signing-key-file={pki / 'sa.key'}",
                    "--service-cluster-ip-range=10.96.0.0/16",
                    "--allow-privileged=true",  # as most clusters: Pod Security decides per namespace
                    "--profiling=false",
                    "--v=0",
                ],
            )
            self._wait_ready()
            if self.controllers:
                self._spawn(
                    "kube-controller-manager",
                    [
                        str(self.bins["kube-controller-manager"]),
                        f"--kubeconfig={self.kubeconfig}",
                        "--bind-address=127.0.0.1",
                        "--secure-port=0",
                        "--leader-elect=false",
                        f"--service-account-private-key-file={pki / 'sa.key'}",
                        f"--root-ca-file={pki / 'ca.crt'}",
                        "--use-service-account-credentials=false",
                        "--v=0",
                    ],
                )
                self._wait_default_service_account()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        # One at a time, the controllers first and etcd last: an API server whose etcd is
        # already gone waits for it instead of stopping.
        for _name, proc in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self.workdir = None

    def _spawn(self, name: str, argv: list[str]) -> None:
        assert self.workdir is not None
        log = open(self.workdir / f"{name}.log", "w")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._procs.append((name, proc))

    def log_tail(self, name: str, lines: int = 30) -> str:
        assert self.workdir is not None
        path = self.workdir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def _check_alive(self) -> None:
        for name, proc in self._procs:
            if proc.poll() is not None:
                raise ClusterError(f"{name} exited with code {proc.returncode}:\n{self.log_tail(name)}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                code, body, _ = self.request("GET", "/readyz")
                if code == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise ClusterError(
            f"kube-apiserver not ready after {START_TIMEOUT_S:g} s:\n{self.log_tail('kube-apiserver')}"
        )

    def _wait_default_service_account(self) -> None:
        """Pods need their namespace's `default` ServiceAccount, which the controller manager makes."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self._check_alive()
            code, _, _ = self.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")
            if code == 200:
                return
            time.sleep(0.5)
        raise ClusterError(
            "kube-controller-manager made no default ServiceAccount in "
            f"{START_TIMEOUT_S:g} s:\n{self.log_tail('kube-controller-manager')}"
        )

    def _write_kubeconfig(self, ca: Path) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "e2e", "cluster": {"server": self.server, "certificate-authority": str(ca)}}
            ],
            "users": [{"name": "admin", "user": {"token": self.token}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
            "current-context": "e2e",
        }
        self.kubeconfig.write_text(json.dumps(config, indent=1))
        os.chmod(self.kubeconfig, 0o600)

    # -- talking to it -------------------------------------------------------------------

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = False
    ) -> subprocess.CompletedProcess:
        kubectl = os.environ.get("KUBECTL") or str(REPO / ".venv" / "bin" / "kubectl")
        proc = subprocess.run(
            [kubectl, f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if check and proc.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> tuple[int, dict, list[str]]:
        """One HTTPS call with the admin token: (status, decoded JSON body, Warning headers)."""
        assert self.workdir is not None
        context = ssl.create_default_context(cafile=str(self.workdir / "pki" / "ca.crt"))
        req = urllib.request.Request(self.server + path, data=body, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        if body is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=context, timeout=60) as resp:
                raw, code, headers = resp.read(), resp.status, resp.headers
        except urllib.error.HTTPError as err:
            raw, code, headers = err.read(), err.code, err.headers
        try:
            decoded = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            decoded = {"message": raw.decode(errors="replace")}
        return code, decoded if isinstance(decoded, dict) else {}, headers.get_all("Warning") or []

    def resource_path(self, obj: dict) -> str:
        """The REST path of an object, from the server's discovery (CRDs included)."""
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        key = f"{api_version}/{kind}"
        if key not in self._resources:
            base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            code, listing, _ = self.request("GET", base)
            for entry in listing.get("resources", []) if code == 200 else []:
                if "/" not in entry["name"]:  # not a subresource
                    self._resources[f"{api_version}/{entry['kind']}"] = (
                        f"{base}/{entry['name']}",
                        entry["namespaced"],
                    )
        if key not in self._resources:
            raise ClusterError(f"the server does not serve {kind} in {api_version}")
        collection, namespaced = self._resources[key]
        metadata = obj.get("metadata") or {}
        name = urllib.parse.quote(str(metadata.get("name", "")), safe="")
        if namespaced:
            namespace = urllib.parse.quote(str(metadata.get("namespace") or "default"), safe="")
            prefix, _, plural = collection.rpartition("/")
            return f"{prefix}/namespaces/{namespace}/{plural}/{name}"
        return f"{collection}/{name}"

    def dry_run(self, obj: dict, field_manager: str = "llmfleet-e2e") -> Verdict:
        """Server-side apply of ``obj`` with ``dryRun=All``: validation, defaulting, admission
        (Pod Security, quota) and CRD schemas and CEL rules run; nothing is stored."""
        return self.apply(obj, field_manager=field_manager, dry_run=True)

    def apply(self, obj: dict, field_manager: str = "llmfleet-e2e", dry_run: bool = False) -> Verdict:
        path = self.resource_path(obj)
        query = {"fieldManager": field_manager, "force": "true"}
        if dry_run:
            query["dryRun"] = "All"
        code, body, warnings = self.request(
            "PATCH",
            f"{path}?{urllib.parse.urlencode(query)}",
            json.dumps(obj).encode(),
            content_type="application/apply-patch+yaml",
        )
        accepted = 200 <= code < 300
        message = "" if accepted else str(body.get("message", ""))
        return Verdict(accepted, code, message, warnings, "" if accepted else str(body.get("reason", "")))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a control plane in DIR and keep it until Ctrl-C")
    up.add_argument("dir", type=Path)
    up.add_argument("--no-controllers", action="store_true")
    sub.add_parser("build", help="build (or find cached) the binaries and print their paths")
    args = parser.parse_args(argv)
    try:
        bins = binaries()
        if args.command == "build":
            print(json.dumps({k: str(v) for k, v in bins.items()}, indent=1))
            return 0
        with LocalCluster(bins, workdir=args.dir.resolve(), controllers=not args.no_controllers) as api:
            print(f"ready: KUBECONFIG={api.kubeconfig} kubectl get ns   (Ctrl-C stops it)", flush=True)
            signal.signal(signal.SIGTERM, _interrupt)  # kill PID stops the servers too
            try:
                signal.pause()
            except KeyboardInterrupt:
                pass
    except ClusterError as err:
        print(f"cluster.py: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
