#!/usr/bin/env python3
"""Places N pizza orders against a running storegate and shows the kitchen live.

    scripts/orders-demo.py --url http://127.0.0.1:8080 --orders 50

While orders cook it redraws a progress bar, the count of orders in each state and
the cooks/ovens/riders in use (from GET /v1/kitchen); at the end it prints orders per
minute and the mean, p50 and p99 time to delivery (from each order's timeline) beside
the ideal (the sum of the step durations). --json prints the summary as one JSON line
(the bench uses it). Standard library only.
"""
import argparse
import http.client
import json
import random
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


def bar(done, total, width=40):
    filled = int(width * done / total) if total else width
    return "[" + "#" * filled + "-" * (width - filled) + f"] {100 * done / total if total else 100:5.1f}%"


def draw(lines, first, tty):
    if tty:
        if not first:
            sys.stdout.write(f"\x1b[{len(lines)}F")
        for line in lines:
            sys.stdout.write("\x1b[2K" + line + "\n")
    else:
        sys.stdout.write(" | ".join(lines) + "\n")
    sys.stdout.flush()


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
    tty = sys.stdout.isatty() and not args.json
    first, peak = True, 0
    while True:
        placing = any(thread.is_alive() for thread in placers)
        _, kitchen = client.call("GET", "/v1/kitchen")
        counts = kitchen["orders"]
        finished = counts["delivered"] + counts["rejected"] - baseline
        in_flight = sum(counts.get(state, 0) for state in STATES)
        peak = max(peak, in_flight)
        if not args.json:
            placed = sum(1 for order_id in ids if order_id)
            lines = [
                f"{bar(min(finished, args.orders), args.orders)}  {finished}/{args.orders} done, {placed} placed, "
                f"{time.time() - started:6.1f} s",
                "  " + "  ".join(f"{state} {counts.get(state, 0)}" for state in STATES)
                + f"  delivered {counts['delivered']}  rejected {counts['rejected']}",
                "  " + "  ".join(f"{kind} {kitchen[kind]['busy']}/{kitchen[kind]['total']} busy"
                                 for kind in ("cooks", "ovens", "riders"))
                + "   queues: " + "  ".join(f"{name} {value}" for name, value in kitchen["queues"].items()),
            ]
            draw(lines, first, tty)
            first = False
        if not placing and finished >= args.orders - len(errors):
            break
        if time.time() - started > args.timeout:
            print("timed out waiting for deliveries", file=sys.stderr)
            break
        time.sleep(0.25 if tty else 1.0)

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
    print(f"\n{summary['delivered']} of {args.orders} orders delivered in {span:.1f} s "
          f"({kitchen['mode']} kitchen, one minute = {minute_ms} ms); {len(errors)} refused, {rejected} rejected")
    print(f"  throughput        {summary['orders_per_minute']} orders/minute "
          f"({summary['orders_per_story_minute']} per story minute)")
    print(f"  time to delivery  mean {summary['mean_s']:.2f} s   p50 {summary['p50_s']:.2f} s   "
          f"p99 {summary['p99_s']:.2f} s   (ideal: mean {summary['ideal_mean_s']:.2f} s, the sum of the steps)")
    print(f"  over the ideal    p50 {summary['over_ideal_p50_s']:.2f} s   p99 {summary['over_ideal_p99_s']:.2f} s "
          "(each order's time minus its own ideal: waiting for cooks, ovens, riders, stock)")
    if errors:
        print(f"  first refusal: {errors[0]}")


if __name__ == "__main__":
    main()
