"""The pizzeria you can watch, end to end: GET /demo in a real headless Chromium (Selenium,
Debian's chromium-driver) against a real storegate and redis-server, and
scripts/orders-demo.py in tmux at 80 and 120 columns. Run by scripts/demo-test.sh.

Environment: STOREGATE_BIN (the gateway binary), DEMO_ARTIFACTS (where screenshots and
logs go; a temporary directory by default).
"""
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("STOREGATE_BIN", "")
ARTIFACTS = os.environ.get("DEMO_ARTIFACTS") or tempfile.mkdtemp(prefix="demo-test-")
MINUTE_MS = 20
DEMO_SCRIPT = os.environ.get("DEMO_SCRIPT", os.path.join(ROOT, "scripts", "orders-demo.py"))
FLOW = ["received", "checked", "reserved", "cooking", "baking", "delivering", "delivered"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url, method="GET", body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_until(condition, timeout, message):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{message} (after {timeout} s)")


class Processes:
    """redis-server and storegate gateways on free loopback ports, stopped at the end."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="demo-redis-")
        self.redis_port = free_port()
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.work], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.gateways = []

    def gateway(self, minute_ms=MINUTE_MS, keys=None, name="gateway"):
        port = free_port()
        environment = dict(os.environ)
        environment.pop("STOREGATE_API_KEYS", None)
        if keys:
            environment["STOREGATE_API_KEYS"] = keys
        with open(os.path.join(ARTIFACTS, f"{name}.log"), "wb") as log:
            process = subprocess.Popen(
                [BIN, "--listen", f"127.0.0.1:{port}", "--store", f"redis://127.0.0.1:{self.redis_port}",
                 "--pizzeria", "on", "--minute-ms", str(minute_ms), "--access-log", "off"],
                env=environment, stdout=log, stderr=log)
        self.gateways.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: self._ready(url), 20, f"{name} did not become ready")
        return url

    @staticmethod
    def _ready(url):
        try:
            return http(url + "/readyz")[0] == 200
        except OSError:
            return False

    def stop(self):
        for process in self.gateways:
            process.send_signal(signal.SIGTERM)
        for process in self.gateways:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.redis.terminate()
        self.redis.wait(timeout=10)
        shutil.rmtree(self.work, ignore_errors=True)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    # --no-sandbox: Chromium's sandbox needs user namespaces, which CI containers and root
    # lack; this browser only ever opens the local test gateway.
    for argument in ("--headless=new", "--window-size=1600,1000", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-first-run", "--disable-extensions", "--no-sandbox"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)


def assert_not_blank(test, path):
    """A real picture: many colours, and much of it differs from the background."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        width, height = rgb.size
        small = rgb.resize((width // 4, height // 4))
        counts = small.getcolors(small.width * small.height)
    background = max(count for count, _ in counts)
    different = 1 - background / (small.width * small.height)
    colours = len(counts)
    test.assertGreater(width, 800)
    test.assertGreater(colours, 50, f"{path}: {colours} colours")
    test.assertGreater(different, 0.15, f"{path}: only {different:.0%} differs from the background")


PROCESSES = None
GATEWAY = None
KEY = "demo-" + secrets.token_hex(16)


def setUpModule():
    global PROCESSES, GATEWAY
    if not BIN or not os.access(BIN, os.X_OK):
        raise RuntimeError("STOREGATE_BIN must name the built storegate binary")
    os.makedirs(ARTIFACTS, exist_ok=True)
    PROCESSES = Processes()
    try:
        GATEWAY = PROCESSES.gateway()
    except BaseException:
        PROCESSES.stop()
        raise


def tearDownModule():
    if PROCESSES:
        PROCESSES.stop()


class DemoPageTests(unittest.TestCase):
    """GET /demo in a headless browser, auth off (EventSource)."""

    @classmethod
    def setUpClass(cls):
        cls.driver = browser()

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()

    def open_page(self, url):
        self.driver.get(url + "/demo")
        WebDriverWait(self.driver, 20).until(
            lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))

    def card_status(self, order_id):
        return self.driver.execute_script(
            "const c = document.querySelector('.card[data-order-id=\"' + arguments[0] + '\"]');"
            "return c ? [c.dataset.status, c.dataset.seen, c.parentElement.parentElement.dataset.status] : null;",
            order_id)

    def test_page_is_served_self_contained(self):
        status, headers, body = http(GATEWAY + "/demo")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        policy = headers["Content-Security-Policy"]
        self.assertIn("default-src 'none'", policy)
        self.assertIn("connect-src 'self'", policy)
        page = body.decode()
        self.assertIn("<title>storegate pizzeria</title>", page)
        # Nothing loaded from another host: no absolute URL in any src, href or url().
        self.assertIsNone(re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//""", page))
        self.assertEqual(http(GATEWAY + "/demo?x=1")[0], 400)
        self.open_page(GATEWAY)
        origins = self.driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)")
        self.assertTrue(all(origin == GATEWAY for origin in origins), origins)
        menu = self.driver.find_elements(By.CSS_SELECTOR, "#menu li")
        self.assertEqual(len(menu), 5)

    def test_order_from_the_form_is_delivered_on_the_board(self):
        self.open_page(GATEWAY)
        Select(self.driver.find_element(By.ID, "customer")).select_by_value("carla")
        Select(self.driver.find_element(By.ID, "pizza")).select_by_value("diavola")
        quantity = self.driver.find_element(By.ID, "quantity")
        quantity.clear()
        quantity.send_keys("2")
        self.driver.find_element(By.ID, "place").click()
        message = WebDriverWait(self.driver, 10).until(
            lambda d: re.search(r"Order ([0-9a-f]{16}) received", d.find_element(By.ID, "order-message").text))
        order_id = message.group(1)
        status, seen, column = WebDriverWait(self.driver, 60).until(
            lambda d: (s := self.card_status(order_id)) and s[0] == "delivered" and s)
        self.assertEqual(column, "delivered", "the card sits in the delivered column")
        # The event stream replays every step, so the card went through each in order.
        self.assertEqual(seen.split(), FLOW)
        code, _, body = http(f"{GATEWAY}/v1/orders/{order_id}")
        order = json.loads(body)
        self.assertEqual((code, order["status"], order["customer"]), (200, "delivered", "carla"))
        self.assertEqual(order["items"], [{"pizza": "diavola", "quantity": 2}])

    def test_rush_of_fifty_all_delivered(self):
        self.open_page(GATEWAY)
        before = set(self.driver.execute_script(
            "return Array.from(document.querySelectorAll('.card'), c => c.dataset.orderId)"))
        count = self.driver.find_element(By.ID, "rush-count")
        count.clear()
        count.send_keys("50")
        self.driver.find_element(By.ID, "rush").click()
        WebDriverWait(self.driver, 30).until(
            lambda d: "50 of 50 placed" in d.find_element(By.ID, "rush-message").text)
        self.driver.save_screenshot(os.path.join(ARTIFACTS, "demo-rush-running.png"))

        def cards():
            return [card for card in self.driver.execute_script(
                "return Array.from(document.querySelectorAll('.card'), c => [c.dataset.orderId, c.dataset.status])")
                if card[0] not in before]

        WebDriverWait(self.driver, 90).until(
            lambda d: len(cards()) == 50 and all(status == "delivered" for _, status in cards()))
        self.assertIn("50 finished", self.driver.find_element(By.ID, "rush-message").text)
        self.assertEqual(len({order_id for order_id, _ in cards()}), 50)
        for order_id, _ in cards()[:5]:
            self.assertEqual(json.loads(http(f"{GATEWAY}/v1/orders/{order_id}")[2])["status"], "delivered")
        # The kitchen panel is live: every cook, oven and rider is free again, the queues empty.
        WebDriverWait(self.driver, 10).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "#riders .figure").text == "0 / 4 busy")
        self.assertEqual(len(self.driver.find_elements(By.CSS_SELECTOR, "#ovens .slot")), 4)
        path = os.path.join(ARTIFACTS, "demo-rush-delivered.png")
        self.assertTrue(self.driver.save_screenshot(path))
        assert_not_blank(self, path)

    def test_restock_updates_the_stock(self):
        self.open_page(GATEWAY)
        before = json.loads(http(GATEWAY + "/v1/kitchen")[2])["stock"]["basil"]
        self.driver.find_element(By.ID, "restock").click()
        WebDriverWait(self.driver, 10).until(
            lambda d: "Restocked" in d.find_element(By.ID, "restock-message").text)
        after = json.loads(http(GATEWAY + "/v1/kitchen")[2])["stock"]["basil"]
        self.assertGreaterEqual(after, before + 100 - 5)  # an order may take a little meanwhile


class DemoPageWithAuthTests(unittest.TestCase):
    """Auth on: the page loads without a key, asks for one, and reads the streams with fetch."""

    @classmethod
    def setUpClass(cls):
        cls.url = PROCESSES.gateway(keys=f"{KEY}:read,write,admin:*", name="gateway-auth")
        cls.driver = browser()

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()

    def test_page_asks_for_a_key_and_keeps_it_in_memory(self):
        self.assertEqual(http(self.url + "/v1/menu")[0], 401)
        self.assertEqual(http(self.url + "/demo")[0], 200)
        self.driver.get(self.url + "/demo")
        panel = WebDriverWait(self.driver, 10).until(
            lambda d: (p := d.find_element(By.ID, "key-panel")).is_displayed() and p)
        self.assertIn("needs an API key", panel.text)
        self.driver.find_element(By.ID, "api-key").send_keys(KEY)
        self.driver.find_element(By.ID, "use-key").click()
        WebDriverWait(self.driver, 10).until(lambda d: d.execute_script("return document.body.dataset.ready"))
        self.driver.find_element(By.ID, "place").click()
        order_id = WebDriverWait(self.driver, 10).until(
            lambda d: re.search(r"Order ([0-9a-f]{16})", d.find_element(By.ID, "order-message").text)).group(1)
        seen = WebDriverWait(self.driver, 60).until(lambda d: d.execute_script(
            "const c = document.querySelector('.card[data-order-id=\"' + arguments[0] + '\"]');"
            "return c && c.dataset.status === 'delivered' && c.dataset.seen;", order_id))
        self.assertEqual(seen.split(), FLOW, "the authenticated stream (fetch) drove every step")
        leaks = self.driver.execute_script(
            "return [JSON.stringify(localStorage), JSON.stringify(sessionStorage), document.cookie, location.href,"
            " document.getElementById('api-key').value]")
        for place in leaks:
            self.assertNotIn(KEY, place)


class TerminalViewTests(unittest.TestCase):
    """scripts/orders-demo.py redraws in place: one progress bar in the pane, never a scroll of them."""

    def run_in_tmux(self, columns):
        server = f"demo-test-{os.getpid()}-{columns}"
        done = os.path.join(ARTIFACTS, f"tmux-{columns}.done")
        if os.path.exists(done):
            os.remove(done)
        command = (f"{sys.executable} {DEMO_SCRIPT} --url {GATEWAY} --orders 120 --seed {columns}; "
                   f"touch {done}; sleep 600")
        subprocess.run(["tmux", "-L", server, "-f", "/dev/null", "new-session", "-d", "-s", "demo", "-x", str(columns),
                        "-y", "40", command], check=True, env={**os.environ, "TERM": "xterm-256color"})
        # A progress bar, whatever it is drawn with: a run of bar characters and "n/120".
        bar = re.compile(r"[━╸╺#█=\-]{10,}.*\d+/120")
        frames = []
        try:
            deadline = time.time() + 90
            while not os.path.exists(done) and time.time() < deadline:
                frames.append(self.capture(server, whole=False))
                time.sleep(0.15)
            self.assertTrue(os.path.exists(done), "orders-demo.py finished")
            final = self.capture(server, whole=True)
            history = subprocess.run(["tmux", "-L", server, "display-message", "-p", "-t", "demo", "#{history_size}"],
                                     capture_output=True, text=True, check=True).stdout.strip()
        finally:
            subprocess.run(["tmux", "-L", server, "kill-server"], check=False)
        with open(os.path.join(ARTIFACTS, f"tmux-{columns}.txt"), "w") as file:
            file.write(final)
        live = [frame for frame in frames if any(bar.search(line) for line in frame.splitlines())]
        self.assertGreater(len(live), 2, "the live view was captured while it ran")
        for frame in live:
            self.assertEqual(sum(1 for line in frame.splitlines() if bar.search(line)), 1, frame)
            self.assertIn("cooks", frame)
        lines = final.splitlines()
        self.assertEqual(sum(1 for line in lines if bar.search(line)), 1, final)
        self.assertEqual(history, "0", "nothing scrolled out of the pane")
        self.assertTrue(any(bar.search(line) and "120/120" in line for line in lines), final)
        self.assertTrue(any(line.startswith("120 of 120 orders delivered") for line in lines), final)
        for row in ("cooking", "delivering", "riders", "ovens", "to delivery"):
            self.assertTrue(any(row in line for line in lines), f"{row} missing:\n{final}")
        self.assertTrue(all(len(line.rstrip()) <= columns for line in lines))

    @staticmethod
    def capture(server, whole):
        arguments = ["tmux", "-L", server, "capture-pane", "-p", "-t", "demo"] + (["-S", "-"] if whole else [])
        return subprocess.run(arguments, capture_output=True, text=True, check=True).stdout

    def test_redraws_in_place_at_80_columns(self):
        self.run_in_tmux(80)

    def test_redraws_in_place_at_120_columns(self):
        self.run_in_tmux(120)


def docs_screenshot(path):
    """The README's picture: a rush of 40 at a watchable pace, taken mid-flight."""
    global PROCESSES
    os.makedirs(ARTIFACTS, exist_ok=True)
    PROCESSES = Processes()
    try:
        url = PROCESSES.gateway(minute_ms=250, name="gateway-docs")
        driver = browser()
        try:
            driver.set_window_size(1500, 900)
            driver.get(url + "/demo")
            WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.body.dataset.ready"))
            driver.find_element(By.ID, "place").click()
            time.sleep(1)
            count = driver.find_element(By.ID, "rush-count")
            count.clear()
            count.send_keys("40")
            driver.find_element(By.ID, "rush").click()
            time.sleep(9)
            driver.save_screenshot(path)
        finally:
            driver.quit()
    finally:
        PROCESSES.stop()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--docs-screenshot":
        docs_screenshot(sys.argv[2])
    else:
        print(f"demo: artifacts in {ARTIFACTS}")
        unittest.main(verbosity=2)
