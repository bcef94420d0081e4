"""The explorer's page in real headless Chromium: controls redraw the images, an upload is read back.

Uses Debian's ``chromium`` (``apt-get install -y chromium``; CI installs it) through the
``playwright`` Python client; ``playwright install`` is never needed. The page is served by
uvicorn on a free loopback port. With ``INFOGAN_EXPLORER_MODEL=RUN_OR_CKPT`` the test drives
that model and writes the explorer page's screenshot, docs/explorer.png; otherwise it drives a random
model and keeps its screenshot in pytest's temporary folder.
"""

import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from infogan import InfoGAN
from infogan.calibration import UnitMap
from infogan.data import image_to_tensor, load_dataset
from infogan.server import create_app, match_polarity

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "explorer.png"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium: install Debian's package with `apt-get install -y chromium`"
)


@pytest.fixture(scope="module")
def explorer_model(vivid_model):
    path = os.environ.get("INFOGAN_EXPLORER_MODEL")
    return InfoGAN.load(path, device="cpu") if path else vivid_model


@pytest.fixture
def page(start_server, explorer_model):
    """The explorer's page, loaded; fails the test on any JavaScript error."""
    source = os.environ.get("INFOGAN_EXPLORER_MODEL", "a random model")
    yield from _opened(start_server(create_app(explorer_model, source=source)))


def _opened(url: str):
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 760})
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.goto(url)
        expect(page.locator("#samples")).to_have_attribute("data-query", re.compile(r"c2=0&"))
        yield page
        browser.close()
    assert errors == []


def _query_has(**values) -> re.Pattern:
    return re.compile("".join(rf"(?=.*[?&]{name}={re.escape(str(v))}(&|$))" for name, v in values.items()))


def test_controls_redraw_the_images(page):
    samples = page.locator("#samples")
    before = samples.screenshot()
    slider = page.locator("#code-c2")
    box = slider.bounding_box()
    page.mouse.click(box["x"] + 0.95 * box["width"], box["y"] + box["height"] / 2)  # near the right end
    value = float(slider.input_value())
    assert value > 1.5
    expect(page.locator("#value-c2")).to_have_text(f"{value:.2f}")
    expect(samples).to_have_attribute("data-query", _query_has(c2=slider.input_value()))
    assert samples.screenshot() != before

    page.locator("#code-c1 label").nth(7).click()
    expect(samples).to_have_attribute("data-query", _query_has(c1=7))
    page.locator("#new-noise").click()
    seed = page.locator("#seed").input_value()
    expect(samples).to_have_attribute("data-query", _query_has(seed=seed, c1=7))

    page.locator("#tab-traverse").click()
    expect(page.locator("#traversal")).to_have_attribute("data-query", _query_has(code="c1", seed=seed))
    page.locator("#traverse-code").select_option("c3")
    expect(page.locator("#traversal")).to_have_attribute("data-query", _query_has(code="c3"))
    expect(page.locator("#traverse-note")).to_contain_text("columns: c3 from -2 to 2")


def test_an_upload_is_read_and_loaded_into_the_controls(page, explorer_model, mnist_root, tmp_path):
    digit = load_dataset("mnist", "test", mnist_root).images[0]  # a 7, light on dark
    upload = tmp_path / "digit.png"
    Image.fromarray(255 - (digit[0].numpy() * 255).astype(np.uint8)).save(upload)  # dark on light, as a scan
    image, _ = match_polarity(image_to_tensor(Image.open(upload), explorer_model.image_shape), "auto")
    expected = explorer_model.encode(image.unsqueeze(0))
    category = int(expected.categories("c1")[0])

    page.locator("#upload").set_input_files(upload)
    expect(page.locator("#reading")).to_be_visible()
    expect(page.locator("#reading-c1 .bar")).to_have_count(10)
    expect(page.locator("#reading-c1 h3")).to_have_text(f"c1: class {category}")
    expect(page.locator("#inverted")).to_contain_text("inverted")
    expect(page.locator(f'input[name="c1"][value="{category}"]')).to_be_checked()
    for name in ("c2", "c3"):
        expect(page.locator(f"#reading-{name} h3")).to_contain_text(f"{name} = {float(expected.means[name][0]):.2f}")
        loaded = float(page.locator(f"#code-{name}").input_value())
        wanted = min(2.0, max(-2.0, float(expected.means[name][0])))  # the sliders span -2..2
        assert abs(loaded - wanted) <= 0.025 + 1e-6  # and snap to steps of 0.05
    expect(page.locator("#samples")).to_have_attribute("data-query", _query_has(c1=category))
    expect(page.locator("#status")).to_contain_text("loaded into the controls")

    out = SCREENSHOT if os.environ.get("INFOGAN_EXPLORER_MODEL") else tmp_path / "explorer.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=out, full_page=True)
    assert out.stat().st_size > 10_000


@pytest.fixture
def named_page(start_server, vivid_model):
    """The page for a model with named classes and a slant unit on c2."""
    import copy

    model = copy.deepcopy(vivid_model)
    model.set_names("c1", ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", None])
    model.calibration = {"c2": UnitMap("c2", "slant", "deg", 0.9, (-2.0, 0.0, 2.0), (-20.0, 0.0, 30.0))}
    yield from _opened(start_server(create_app(model, source="named")))


def test_names_and_units_on_the_page(named_page, tmp_path):
    page = named_page
    buttons = page.locator("#code-c1 label")
    expect(buttons.nth(7)).to_have_text("seven")
    expect(buttons.nth(9)).to_have_text("9")  # unnamed: its index
    buttons.nth(7).click()
    expect(page.locator("#samples")).to_have_attribute("data-query", _query_has(c1=7))
    expect(page.locator("label[for=code-c2]")).to_have_text("c2 · slant (deg)")
    expect(page.locator("#value-c2")).to_have_text("0.00 · slant 0.0 deg")
    page.locator("#code-c2").fill("1")  # the knots put 1 halfway to 30°
    expect(page.locator("#value-c2")).to_have_text("1.00 · slant 15.0 deg")
    expect(page.locator("#value-c3")).to_have_text("0.00")
    page.locator("#tab-traverse").click()
    page.locator("#traverse-code").select_option("c2")
    expect(page.locator("#traverse-note")).to_contain_text("from -2 to 2 (slant -20.0 deg to slant 30.0 deg)")
    upload = tmp_path / "blank.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(upload)
    page.locator("#upload").set_input_files(upload)
    expect(page.locator("#reading")).to_be_visible()
    expect(page.locator("#reading-c2 h3")).to_contain_text(re.compile(r"c2 = -?\d\.\d\d · slant -?\d+\.\d deg"))
    expect(page.locator("#reading-c1 .bar .class").nth(3)).to_have_text("three")
