"""Renders every kustomization under deploy/k8s (``kubectl kustomize``) and
validates it offline: built-in kinds against kubernetes-validate's bundled
schemas (strict: an unknown field fails), the operators' custom resources
against deploy/k8s/schemas/crds.yaml, and the rules the deployment promises:
non-root pods with read-only roots and no capabilities, requests and limits on
every container, web probed on /healthz and /readyz, one beat with Recreate,
the default-deny network policy, nothing secret in a manifest.

    .venv/bin/python deploy/scripts/check_manifests.py [KUSTOMIZATION_DIR ...]

Exits non-zero listing every problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.31.0"
OVERLAYS = ["base", "base/migrate", "production", "production/migrate"]
CUSTOM = yaml.safe_load((K8S / "schemas" / "crds.yaml").read_text())
POD_KINDS = {"Deployment", "StatefulSet", "Job", "CronJob"}


def render(directory: Path) -> list[dict]:
    out = subprocess.run(  # noqa: S603
        ["kubectl", "kustomize", str(directory)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"kubectl kustomize {directory} failed:\n{out.stderr}")
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def pod_spec(doc: dict) -> dict | None:
    kind = doc["kind"]
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if kind in POD_KINDS:
        return doc["spec"]["template"]["spec"]
    return None


def check_pod(name: str, spec: dict) -> list[str]:
    problems = []
    pod_sc = spec.get("securityContext") or {}
    if pod_sc.get("runAsNonRoot") is not True:
        problems.append(f"{name}: the pod does not set runAsNonRoot: true")
    if (pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append(f"{name}: no RuntimeDefault seccomp profile")
    if spec.get("automountServiceAccountToken") is not False:
        problems.append(f"{name}: mounts a service account token")
    for container in spec.get("initContainers", []) + spec["containers"]:
        where = f"{name}/{container['name']}"
        sc = container.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: the root file system is writable")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{where}: capabilities are not all dropped")
        resources = container.get("resources") or {}
        for part in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(resources.get(part) or {}):
                problems.append(f"{where}: no cpu and memory {part}")
        for env in container.get("env", []):
            if env.get("name", "").endswith(("KEY", "KEYS", "PASSWORD")) and "value" in env:
                problems.append(f"{where}: {env['name']} has a literal value (use a Secret)")
    return problems


def check_promises(docs: list[dict], label: str) -> list[str]:
    problems = []
    by_kind: dict[str, dict[str, dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    for kind in ("Secret",):
        if kind in by_kind:
            problems.append(f"{label}: a Secret is in the manifests: {sorted(by_kind[kind])}")
    for doc in docs:
        data = doc.get("data") or {}
        if doc["kind"] == "ConfigMap":
            secretish = [k for k in data if k.endswith(("_KEY", "_KEYS", "PASSWORD"))]
            if secretish:
                problems.append(f"{label}: ConfigMap {doc['metadata']['name']} holds {secretish}")
    deployments = by_kind.get("Deployment", {})
    if "telereg-web" in deployments:
        web = deployments["telereg-web"]["spec"]["template"]["spec"]["containers"][0]
        if (web.get("livenessProbe") or {}).get("httpGet", {}).get("path") != "/healthz":
            problems.append(f"{label}: web's liveness probe is not /healthz")
        if (web.get("readinessProbe") or {}).get("httpGet", {}).get("path") != "/readyz":
            problems.append(f"{label}: web's readiness probe is not /readyz")
        if "telereg-web" not in by_kind.get("HorizontalPodAutoscaler", {}):
            problems.append(f"{label}: no HorizontalPodAutoscaler for web")
        if "telereg-web" not in by_kind.get("PodDisruptionBudget", {}):
            problems.append(f"{label}: no PodDisruptionBudget for web")
        ingresses = by_kind.get("Ingress", {})
        backends = {
            path["backend"]["service"]["name"]
            for ingress in ingresses.values()
            for rule in ingress["spec"]["rules"]
            for path in rule["http"]["paths"]
        }
        if backends != {"telereg-web"}:
            problems.append(f"{label}: the ingress reaches {sorted(backends)}, not web alone")
        if "default-deny-ingress" not in by_kind.get("NetworkPolicy", {}):
            problems.append(f"{label}: no default-deny NetworkPolicy")
        services = by_kind.get("Service", {})
        exposed = [
            n for n, s in services.items() if s["spec"].get("type") in ("NodePort", "LoadBalancer")
        ]
        if exposed:
            problems.append(f"{label}: services exposed outside the cluster: {exposed}")
    if "telereg-beat" in deployments:
        beat = deployments["telereg-beat"]["spec"]
        if beat.get("replicas") != 1 or beat.get("strategy", {}).get("type") != "Recreate":
            problems.append(f"{label}: beat is not one replica with the Recreate strategy")
    queues = {
        env["value"]
        for d in deployments.values()
        for c in d["spec"]["template"]["spec"]["containers"]
        for env in c.get("env", [])
        if env["name"] == "CELERY_QUEUES"
    }
    consumed = {q for value in queues for q in value.split(",")}
    if queues and (missing := {"default", "interactive", "campaigns"} - consumed):
        problems.append(f"{label}: no worker consumes {sorted(missing)}")
    return problems


def check(directory: str) -> list[str]:
    label = f"deploy/k8s/{directory}"
    docs = render(K8S / directory)
    problems = []
    for doc in docs:
        name = f"{label}: {doc['kind']}/{doc['metadata']['name']}"
        key = f"{doc['apiVersion']}/{doc['kind']}"
        if key in CUSTOM:
            try:
                jsonschema.validate(doc, CUSTOM[key])
            except jsonschema.ValidationError as error:
                where = "/".join(str(p) for p in error.absolute_path)
                problems.append(f"{name}: {where}: {error.message}")
        else:
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                problems.append(f"{name}: no schema for {key} (add one to schemas/crds.yaml)")
            except kubernetes_validate.ValidationError as error:
                where = "/".join(str(p) for p in error.path)
                problems.append(f"{name}: {where}: {error.message}")
        spec = pod_spec(doc)
        if spec is not None:
            problems += check_pod(name, spec)
    problems += check_promises(docs, label)
    kinds = sorted({d["kind"] for d in docs})
    print(f"{label}: {len(docs)} resources ({', '.join(kinds)})")
    return problems


def main(argv: list[str]) -> int:
    problems = []
    for directory in argv or OVERLAYS:
        problems += check(directory)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in deploy/k8s", file=sys.stderr)
        return 1
    print(f"deploy/k8s valid (Kubernetes {KUBERNETES_VERSION} schemas, strict)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
