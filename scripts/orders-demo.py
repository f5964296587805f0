#!/usr/bin/env python3
"""Places N pizza orders against a running storegate and shows the kitchen live.

    scripts/orders-demo.py --url http://127.0.0.1:8080 --orders 50

While orders cook it redraws, in place and within the terminal's width (80 columns
included), a progress bar and a table of the orders in each state and the cooks, ovens,
riders and queues (from GET /v1/kitchen); at the end it prints orders per minute and the
mean, p50 and p99 time to delivery (from each order's timeline) beside the ideal (the sum
of the step durations). The live view uses `rich`, installed on first use into the
script's own venv (.deps/demo-venv); without a terminal, or without rich, it prints one
plain line a second. --json prints the summary as one JSON line (the bench uses it; that
path needs only the standard library).
"""
import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import datetime

CUSTOMERS = ["alice", "bob", "carla", "dario", "elena"]
STATES = ["received", "checked", "waiting_for_stock", "reserved", "cooking", "baking", "delivering"]


class Client:
    """One keep-alive HTTP connection."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.conn = None

    def call(self, method, path, body=None, headers=None):
        for attempt in range(5):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                data = json.dumps(body).encode() if body is not None else None
                all_headers = {"Content-Type": "application/json"} if data else {}
                all_headers.update(headers or {})
                self.conn.request(method, path, body=data, headers=all_headers)
                response = self.conn.getresponse()
                payload = response.read()
                if response.status == 503 and attempt < 4:
                    time.sleep(0.2 * (attempt + 1))
                    continue
                return response.status, json.loads(payload) if payload else None
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 4:
                    raise
                time.sleep(0.2)
        return 503, None


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values, fraction):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def restock_for(client, plan, menu):
    """Tops the stock up so every planned order can be served."""
    needs = {}
    for pizza, quantity in plan:
        for name, amount in menu[pizza].items():
            needs[name] = needs.get(name, 0) + amount * quantity
    _, kitchen = client.call("GET", "/v1/kitchen")
    short = {name: need - kitchen["stock"].get(name, 0) for name, need in needs.items()}
    short = {name: amount for name, amount in short.items() if amount > 0}
    while short:
        chunk = {name: min(amount, 100000) for name, amount in short.items()}
        status, _ = client.call("POST", "/v1/kitchen/restock", {"ingredients": chunk})
        if status != 200:
            sys.exit(f"restock failed: {status}")
        short = {name: amount - chunk[name] for name, amount in short.items() if amount > chunk[name]}


def place(url, plan, ids, errors, offset, step):
    client = Client(url)
    for index in range(offset, len(plan), step):
        pizza, quantity = plan[index]
        body = {"customer": CUSTOMERS[index % len(CUSTOMERS)], "items": [{"pizza": pizza, "quantity": quantity}],
                "address": f"Via Roma {index + 1}"}
        status, order = client.call("POST", "/v1/orders", body, {"Idempotency-Key": f"demo-{RUN}-{index}"})
        if status == 202:
            ids[index] = order["id"]
        else:
            errors.append((status, order))


HAVE_RICH = False
VENV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".deps", "demo-venv")
RICH_REQUIREMENT = "rich>=13,<15"


def rich_or_reexec():
    """Imports rich, or installs it into the script's venv and runs the script again
    there; None when neither works (offline: the plain view is used)."""
    try:
        import rich  # noqa: F401
        return True
    except ImportError:
        pass
    python = os.path.join(VENV, "bin", "python3")
    if os.environ.get("ORDERS_DEMO_REEXEC") or sys.prefix == os.path.realpath(VENV):
        return False
    try:
        if not os.path.exists(python):
            subprocess.run([sys.executable, "-m", "venv", VENV], check=True, stdout=subprocess.DEVNULL)
        check = subprocess.run([python, "-c", "import rich"], stderr=subprocess.DEVNULL)
        if check.returncode != 0:
            print("orders-demo: installing rich into .deps/demo-venv", file=sys.stderr)
            subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", RICH_REQUIREMENT],
                           check=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    os.environ["ORDERS_DEMO_REEXEC"] = "1"
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


class PlainView:
    """No terminal (a pipe, a log): one short line a second, never redrawn."""

    def update(self, snapshot):
        done, total = snapshot["finished"], snapshot["total"]
        counts = snapshot["kitchen"]["orders"]
        busy = " ".join(f"{kind} {snapshot['kitchen'][kind]['busy']}/{snapshot['kitchen'][kind]['total']}"
                        for kind in ("cooks", "ovens", "riders"))
        in_flight = sum(counts.get(state, 0) for state in STATES)
        print(f"{done}/{total} done, {snapshot['placed']} placed, {in_flight} in the kitchen, {busy}, "
              f"{snapshot['elapsed']:.1f} s", flush=True)

    def close(self):
        pass


class LiveView:
    """A terminal: one progress bar and one table, redrawn in place by rich.live.Live at
    whatever width the terminal has; the summary is printed below once it stops."""

    def __init__(self, total):
        from rich.console import Console
        from rich.live import Live
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console()
        self.progress = Progress(TextColumn("delivered"), BarColumn(bar_width=None), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=self.console, expand=True)
        self.task = self.progress.add_task("orders", total=total)
        self.placed = 0
        self.kitchen = None
        self.live = Live(self.render(), console=self.console, refresh_per_second=8, transient=False,
                         vertical_overflow="visible")
        self.live.start()

    def render(self):
        from rich.console import Group
        from rich.table import Table

        states = Table(expand=True, box=None, padding=(0, 1), show_edge=False)
        # The whole kitchen (GET /v1/kitchen), this run's orders and any others; the bar is this run.
        states.add_column("state (whole kitchen)", no_wrap=True, overflow="ellipsis")
        states.add_column("orders", justify="right", no_wrap=True)
        resources = Table(expand=True, box=None, padding=(0, 1), show_edge=False)
        resources.add_column("kitchen", no_wrap=True, overflow="ellipsis")
        resources.add_column("busy", justify="right", no_wrap=True)
        resources.add_column("queue", justify="right", no_wrap=True)
        if self.kitchen:
            counts = self.kitchen["orders"]
            for state in STATES + ["delivered", "rejected"]:
                states.add_row(state.replace("_", " "), str(counts.get(state, 0)))
            queues = self.kitchen["queues"]
            for kind, queue in (("cooks", "cook"), ("ovens", "oven"), ("riders", "rider")):
                resource = self.kitchen[kind]
                resources.add_row(kind, f"{resource['busy']}/{resource['total']}", str(queues.get(queue, 0)))
            resources.add_row("stock wait", "", str(queues.get("stock", 0)))
            resources.add_row("store queue", "", str(queues.get("store", 0)))
            resources.add_row("placed", str(self.placed), "")
        grid = Table.grid(expand=True, padding=(0, 2))
        grid.add_column(ratio=1)
        grid.add_column(ratio=1)
        grid.add_row(states, resources)
        return Group(self.progress, grid)

    def update(self, snapshot):
        self.kitchen = snapshot["kitchen"]
        self.placed = snapshot["placed"]
        self.progress.update(self.task, completed=min(snapshot["finished"], snapshot["total"]))
        self.live.update(self.render())

    def close(self):
        self.live.stop()


def main():
    global RUN
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8, help="connections placing orders")
    parser.add_argument("--no-restock", action="store_true", help="do not top the stock up first")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the last delivery")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    global HAVE_RICH
    HAVE_RICH = not args.json and sys.stdout.isatty() and rich_or_reexec()
    RUN = f"{int(time.time() * 1000):x}"
    random.seed(args.seed)
    client = Client(args.url)
    status, menu_body = client.call("GET", "/v1/menu")
    if status != 200:
        sys.exit(f"GET /v1/menu: {status}")
    menu = {pizza["name"]: pizza["ingredients"] for pizza in menu_body["pizzas"]}
    plan = [(random.choice(list(menu)), random.randint(1, 2)) for _ in range(args.orders)]
    if not args.no_restock:
        restock_for(client, plan, menu)
    _, kitchen = client.call("GET", "/v1/kitchen")
    minute_ms = kitchen["minute_ms"]
    baseline = kitchen["orders"]["delivered"] + kitchen["orders"]["rejected"]
    distance = {}
    for name in CUSTOMERS:
        _, record = client.call("GET", f"/v1/kv/pizzeria/customers/{name}")
        distance[name] = (record or {}).get("bins", {}).get("distance_km", 1)

    ids = [None] * args.orders
    errors = []
    started = time.time()
    placers = [threading.Thread(target=place, args=(args.url, plan, ids, errors, k, args.concurrency))
               for k in range(args.concurrency)]
    for thread in placers:
        thread.start()
    view = None
    if not args.json:
        view = LiveView(args.orders) if sys.stdout.isatty() and HAVE_RICH else PlainView()
    peak = 0
    while True:
        placing = any(thread.is_alive() for thread in placers)
        _, kitchen = client.call("GET", "/v1/kitchen")
        counts = kitchen["orders"]
        finished = counts["delivered"] + counts["rejected"] - baseline
        in_flight = sum(counts.get(state, 0) for state in STATES)
        peak = max(peak, in_flight)
        if view:
            view.update({"kitchen": kitchen, "finished": finished, "total": args.orders,
                         "placed": sum(1 for order_id in ids if order_id), "elapsed": time.time() - started})
        if not placing and finished >= args.orders - len(errors):
            break
        if time.time() - started > args.timeout:
            print("timed out waiting for deliveries", file=sys.stderr)
            break
        time.sleep(0.25 if isinstance(view, LiveView) else 1.0)
    if view:
        view.close()

    # Time to delivery from each order's own timeline.
    times, ideal, over, first_received, last_delivered, rejected = [], [], [], None, None, 0
    for index, order_id in enumerate(ids):
        if not order_id:
            continue
        status, order = client.call("GET", f"/v1/orders/{order_id}")
        if status != 200:
            continue
        at = {event["status"]: parse_time(event["at"]) for event in order["timeline"]}
        if "delivered" not in at:
            rejected += order["status"] == "rejected"
            continue
        times.append(at["delivered"] - at["received"])
        ideal.append((3 + 5 + 2 * max(1, distance[order["customer"]])) * minute_ms / 1000)
        over.append(times[-1] - ideal[-1])
        first_received = min(first_received or at["received"], at["received"])
        last_delivered = max(last_delivered or at["delivered"], at["delivered"])
    span = (last_delivered - first_received) if times else 0
    summary = {
        "mode": kitchen["mode"], "minute_ms": minute_ms, "orders": args.orders, "delivered": len(times),
        "rejected": rejected, "refused": len(errors), "peak_in_flight": peak,
        "orders_per_minute": round(len(times) / span * 60, 1) if span else 0,
        "orders_per_story_minute": round(len(times) / span * minute_ms / 1000, 3) if span else 0,
        "mean_s": round(sum(times) / len(times), 3) if times else 0,
        "p50_s": round(percentile(times, 0.5), 3), "p99_s": round(percentile(times, 0.99), 3),
        "ideal_mean_s": round(sum(ideal) / len(ideal), 3) if ideal else 0,
        "over_ideal_p50_s": round(percentile(over, 0.5), 3), "over_ideal_p99_s": round(percentile(over, 0.99), 3),
    }
    if args.json:
        print(json.dumps(summary))
        return
    # Short lines: the summary stays readable in an 80-column terminal.
    print(f"\n{summary['delivered']} of {args.orders} orders delivered in {span:.1f} s")
    print(f"  kitchen           {kitchen['mode']}, one story minute = {minute_ms} ms")
    print(f"  refused/rejected  {len(errors)} / {rejected}")
    print(f"  throughput        {summary['orders_per_minute']} orders/minute "
          f"({summary['orders_per_story_minute']}/story minute)")
    print(f"  to delivery       mean {summary['mean_s']:.2f} s  p50 {summary['p50_s']:.2f} s  "
          f"p99 {summary['p99_s']:.2f} s")
    print(f"  ideal             mean {summary['ideal_mean_s']:.2f} s (the sum of the steps)")
    print(f"  over the ideal    p50 {summary['over_ideal_p50_s']:.2f} s  p99 {summary['over_ideal_p99_s']:.2f} s "
          "(queues, stock)")
    if errors:
        print(f"  first refusal: {errors[0]}")


if __name__ == "__main__":
    main()
