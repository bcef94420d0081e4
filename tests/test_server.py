"""The latent explorer's HTTP API, through Starlette's test client and on a loopback port."""

import asyncio
import base64
import contextlib
import io
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPResponse

import httpx2
import numpy as np
import pytest
import torch
from PIL import Image
from starlette.exceptions import HTTPException
from starlette.testclient import TestClient
from torch.testing import assert_close

import infogan
from infogan import viz
from infogan.cli import main
from infogan.data import image_to_tensor
from infogan.server import Limits, ModelWorker, create_app, is_loopback, listen


@pytest.fixture(scope="module")
def client(vivid_model):
    with TestClient(create_app(vivid_model, source="tiny")) as test_client:
        yield test_client


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _pixels(response: httpx2.Response) -> torch.Tensor:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return torch.from_numpy(np.array(Image.open(io.BytesIO(response.content)))).permute(2, 0, 1)


def _as_png_pixels(image: torch.Tensor) -> torch.Tensor:
    """What a (C, H, W) image in [0, 1] becomes in a PNG: the same rounding as torchvision's save_image."""
    return image.mul(255).add(0.5).clamp(0, 255).to(torch.uint8)


def _error(response: httpx2.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()["error"]


# ----- the page ---------------------------------------------------------------------------
def test_page_and_its_assets(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/app.js"' in page.text
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    "path",
    [
        "/static/server.py",
        "/static/../server.py",
        "/static/%2e%2e/server.py",
        "/static/..%2f..%2fpyproject.toml",
        "/static/",
        "/static/static/app.js",
        "/infogan/server.py",
        "/etc/passwd",
        "/api/nothing",
    ],
)
def test_serves_nothing_but_its_own_files(client, path):
    assert _error(client.get(path), 404).startswith("not found")


def test_describe(client):
    description = client.get("/api/model").json()
    assert description["image_shape"] == [1, 28, 28]
    assert description["codes"] == [
        {"name": "c1", "kind": "categorical", "num_classes": 10, "names": [None] * 10},
        {"name": "c2", "kind": "continuous", "range": [-2.0, 2.0]},
        {"name": "c3", "kind": "continuous", "range": [-2.0, 2.0]},
    ]
    assert description["source"] == "tiny" and description["limits"]["max_samples"] == Limits().max_samples


# ----- generate ---------------------------------------------------------------------------
def test_generate_is_the_models_grid(client, vivid_model):
    pixels = _pixels(client.get("/api/generate", params={"n": 6, "columns": 3, "seed": 5, "c1": 4, "c2": -1.5}))
    images = vivid_model.generate(6, codes={"c1": 4, "c2": -1.5}, seed=5)
    assert torch.equal(pixels, _as_png_pixels(viz.grid_image(images, columns=3)))
    assert pixels.shape == (3, 2 * 30 + 2, 3 * 30 + 2)  # two rows of three 28-pixel images, 2-pixel gaps


def test_generate_follows_codes_and_seed(client):
    def grid(**params):
        return client.get("/api/generate", params={"c1": 3, "c3": 0, "seed": 1, **params}).content

    assert grid(c2=1.0) == grid(c2=1.0)
    assert grid(c2=-2.0) != grid(c2=2.0)
    assert grid(c2=0.0, seed=1) != grid(c2=0.0, seed=2)
    assert grid(c1=0, c2=0) != grid(c1=7, c2=0)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("c9=1", "unknown parameter 'c9': give columns, n, seed, c1, c2, c3"),
        ("size=3", "unknown parameter 'size'"),
        ("c1=3.5", "c1 is categorical: give a class in 0..9"),
        ("c1=10", "c1 is categorical"),
        ("c1=-1", "c1 is categorical"),
        ("c1=", "c1 needs a class"),
        ("c2=abc", "c2 must be a number, not 'abc'"),
        ("c2=nan", "c2 must lie in -4..4"),
        ("c2=inf", "c2 must lie in -4..4"),
        ("c2=4.5", "c2 must lie in -4..4"),
        ("c2=1&c2=2", "c2 was given 2 times"),
        ("n=0", "n must lie in 1..64"),
        ("n=100000", "n must lie in 1..64"),
        ("n=2.5", "n must be a whole number"),
        ("columns=x", "columns must be a number"),
        ("seed=-1", "seed must lie in 0..2147483647"),
        ("seed=1e12", "seed must lie in 0..2147483647"),
    ],
)
def test_generate_rejects_bad_parameters(client, query, message):
    assert message in _error(client.get(f"/api/generate?{query}"), 400)


def test_wrong_method(client):
    assert _error(client.post("/api/generate"), 405) == "POST is not allowed on /api/generate"
    assert _error(client.get("/api/encode"), 405) == "GET is not allowed on /api/encode"


# ----- traverse ---------------------------------------------------------------------------
def test_traverse_is_the_models_figure(client, vivid_model):
    pixels = _pixels(client.get("/api/traverse", params={"code": "c2", "steps": 5, "seed": 2, "low": -1, "high": 1}))
    figure = vivid_model.traversal("c2", span=(-1.0, 1.0), steps=5, seed=2)
    assert torch.equal(pixels, _as_png_pixels(viz.traversal_image(figure, vivid_model.row_labels("c2"))))
    labels = pixels.shape[2] - (5 * 30 + 2)  # a margin for the rows' labels (c1=0, ...)
    assert pixels.shape[:2] == (3, 10 * 30 + 2) and labels > 0  # a row per class of c1, a column per value
    assert _pixels(client.get("/api/traverse", params={"code": "c1", "steps": 4})).shape == (3, 302, 122 + labels)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "give the code to traverse"),
        ("code=c7", "unknown code 'c7'"),
        ("code=c2&steps=1", "steps must lie in 2..20"),
        ("code=c2&steps=500", "steps must lie in 2..20"),
        ("code=c2&low=1&high=-1", "low must be below high"),
        ("code=c2&high=9", "high must lie in -4..4"),
        ("code=c2&c1=3", "unknown parameter 'c1'"),
        ("code=c2&code=c3", "code was given 2 times"),
    ],
)
def test_traverse_rejects_bad_parameters(client, query, message):
    assert message in _error(client.get(f"/api/traverse?{query}"), 400)


# ----- encode -----------------------------------------------------------------------------
def test_encode_is_qs_reading(client, vivid_model):
    digit = _png(_as_png_pixels(vivid_model.generate(1, codes={"c1": 6}, seed=3)[0])[0].numpy())
    response = client.post("/api/encode?invert=false", content=digit, headers={"content-type": "image/png"})
    assert response.status_code == 200, response.text
    reading = response.json()
    expected = vivid_model.encode(image_to_tensor(Image.open(io.BytesIO(digit)), (1, 28, 28)).unsqueeze(0))
    assert_close(torch.tensor(reading["probabilities"]["c1"]), expected.probabilities["c1"][0])
    assert reading["codes"]["c1"] == int(expected.categories("c1")[0])
    assert_close(
        torch.tensor([reading["codes"]["c2"], reading["codes"]["c3"]]),
        torch.stack([expected.means["c2"][0], expected.means["c3"][0]]),
    )
    assert reading["sigmas"] == {} and reading["inverted"] is False
    assert reading["input"].startswith("data:image/png;base64,")


def test_encode_takes_a_form_upload_too(client, vivid_model):
    digit = _png(np.zeros((28, 28), dtype=np.uint8))
    raw = client.post("/api/encode", content=digit).json()
    form = client.post("/api/encode", files={"image": ("digit.png", digit, "image/png")}).json()
    assert form == raw


def test_encode_inverts_dark_on_light_images(client):
    paper = np.full((40, 40), 255, dtype=np.uint8)
    paper[10:30, 18:22] = 0  # a dark stroke on white, as a photographed digit
    assert client.post("/api/encode", content=_png(paper)).json()["inverted"] is True
    assert client.post("/api/encode?invert=false", content=_png(paper)).json()["inverted"] is False
    assert client.post("/api/encode", content=_png(255 - paper)).json()["inverted"] is False
    assert "invert must be auto, true or false" in _error(client.post("/api/encode?invert=maybe", content=b"x"), 400)


def test_encode_reads_other_sizes_and_colours(client):
    photo = np.random.default_rng(0).integers(0, 255, (300, 200, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="JPEG")
    reading = client.post("/api/encode", content=buffer.getvalue()).json()
    assert set(reading["codes"]) == {"c1", "c2", "c3"}


def test_encode_rejects_bad_uploads(vivid_model):
    limits = Limits(max_upload_bytes=2000, max_image_side=64)
    with TestClient(create_app(vivid_model, limits=limits)) as small:
        assert "no image" in _error(small.post("/api/encode", content=b""), 400)
        assert "not an image" in _error(small.post("/api/encode", content=b"%PDF-1.4 not a picture"), 415)
        assert "not an image" in _error(small.post("/api/encode", content=b"<svg xmlns='x'/>"), 415)
        assert "limit is 2000" in _error(small.post("/api/encode", content=b"\0" * 5000), 413)
        wide = _png(np.zeros((8, 100), dtype=np.uint8))
        assert "100×8 pixels; the limit is 64 per side" in _error(small.post("/api/encode", content=wide), 413)
        truncated = _png(np.random.default_rng(0).integers(0, 255, (28, 28), dtype=np.uint8))[:100]
        assert "cannot decode the image" in _error(small.post("/api/encode", content=truncated), 400)
        files = {"picture": ("a.png", _png(np.zeros((28, 28), dtype=np.uint8)), "image/png")}
        assert "field called 'image'" in _error(small.post("/api/encode", files=files), 400)


def test_an_upload_without_content_length_is_still_capped(vivid_model):
    def chunks():
        for _ in range(10):
            yield b"\0" * 1000

    with TestClient(create_app(vivid_model, limits=Limits(max_upload_bytes=4000))) as small:
        assert "over the limit of 4000 bytes" in _error(small.post("/api/encode", content=chunks()), 413)


# ----- concurrency ------------------------------------------------------------------------
def test_a_full_queue_answers_503(vivid_model):
    release = threading.Event()

    async def scenario():
        worker = ModelWorker(vivid_model, max_queue=1)
        first = asyncio.ensure_future(worker.run(lambda model: release.wait(10)))
        await asyncio.sleep(0.05)
        with pytest.raises(HTTPException) as refused:
            await worker.run(lambda model: None)
        release.set()
        await first
        worker.close()
        return refused.value

    refused = asyncio.run(scenario())
    assert refused.status_code == 503 and refused.headers == {"Retry-After": "1"}


def test_a_burst_on_loopback_is_served_one_model_call_at_a_time(vivid_model, start_server, monkeypatch):
    active, most, lock = [0], [0], threading.Lock()
    render = vivid_model.render

    def counting_render(latents):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.002)  # widen the window in which an unserialised call would overlap
        try:
            return render(latents)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(vivid_model, "render", counting_render)
    url = start_server(create_app(vivid_model))
    digit = _png(np.zeros((28, 28), dtype=np.uint8))
    with httpx2.Client(base_url=url, timeout=60) as http:
        expected = http.get("/api/generate", params={"seed": 9, "c2": 0.5}).content

        def call(i: int) -> tuple[int, bytes]:
            if i % 4 == 3:
                return http.post("/api/encode", content=digit).status_code, b""
            if i % 4 == 2:
                return http.get("/api/traverse", params={"code": "c3", "steps": 3}).status_code, b""
            response = http.get("/api/generate", params={"seed": 9, "c2": 0.5})
            return response.status_code, response.content

        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(call, range(96)))
    assert [status for status, _ in results] == [200] * 96
    assert all(body == expected for status, body in results if body)
    assert most[0] == 1


# ----- the command --------------------------------------------------------------------------
def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("infogan: error:"), err
    return err[0]


def test_serve_without_the_extra_says_what_to_install(vivid_model, tmp_path, monkeypatch, capsys):
    vivid_model.save(tmp_path / "model.safetensors")
    # `from infogan import server` must import afresh, and `import uvicorn` must fail
    monkeypatch.delitem(sys.modules, "infogan.server", raising=False)
    monkeypatch.delattr(infogan, "server", raising=False)
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    monkeypatch.setattr("infogan.cli._load", lambda args: pytest.fail("the model was loaded before the check"))
    assert main(["serve", str(tmp_path / "model.safetensors")]) == 2
    assert 'pip install "infogan[serve]"' in _error_line(capsys)


def test_serve_reports_bad_arguments_in_one_line(vivid_model, tmp_path, capsys):
    checkpoint = tmp_path / "model.safetensors"
    vivid_model.save(checkpoint)
    assert main(["serve", str(checkpoint), "--port", "70000"]) == 2
    assert "0..65535" in _error_line(capsys)
    assert main(["serve", str(tmp_path / "missing")]) == 2
    _error_line(capsys)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", str(checkpoint), "--device", "cpu", "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in _error_line(capsys)


def test_listening_socket_lets_asyncio_turn_off_nagle():
    # asyncio sets TCP_NODELAY only on connections of IPPROTO_TCP sockets; with proto 0 every
    # keep-alive response waited ~40 ms for the client's delayed ACK
    with listen("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP and sock.getsockname()[1] > 0


def test_serve_binds_to_loopback_by_default():
    from infogan.cli import build_parser

    args = build_parser().parse_args(["serve", "run"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.org")


# ----- hostile clients: idle and slow connections, many uploads ---------------------------------
def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes ``sock`` within ``within`` seconds (EOF or reset, no bytes)."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_idle_connections_do_not_lock_out_other_clients(vivid_model, start_server):
    url = start_server(create_app(vivid_model))
    idle = [socket.create_connection(("127.0.0.1", _port(url))) for _ in range(80)]  # nothing sent
    try:
        time.sleep(0.5)
        with httpx2.Client(base_url=url, timeout=10) as http:
            for _ in range(3):
                assert http.get("/api/model").status_code == 200
    finally:
        for sock in idle:
            sock.close()


def test_connections_that_do_not_send_a_request_head_in_time_are_closed(vivid_model, start_server, monkeypatch):
    render = vivid_model.render

    def slow_render(latents):
        time.sleep(1.0)  # a request being served is not timed, however long the model takes
        return render(latents)

    url = start_server(create_app(vivid_model, limits=Limits(header_timeout_s=0.4)))
    monkeypatch.setattr(vivid_model, "render", slow_render)
    address = ("127.0.0.1", _port(url))
    idle, trickle, kept_alive = (socket.create_connection(address) for _ in range(3))
    with idle, trickle, kept_alive:
        kept_alive.sendall(b"GET /api/generate?n=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        kept_alive.settimeout(10)
        response = HTTPResponse(kept_alive)
        response.begin()
        assert response.status == 200 and response.read()  # all of it: a byte left unread is not a close
        for sock in (trickle, kept_alive):  # slowloris: a byte at a time, never a whole head in time
            with contextlib.suppress(OSError):
                for byte in b"GET /api/model HTTP/1.1\r\nHost: x\r\n":
                    sock.send(bytes([byte]))
                    time.sleep(0.03)
        assert _closed_by_server(idle, 2) and _closed_by_server(trickle, 2) and _closed_by_server(kept_alive, 2)
    with httpx2.Client(base_url=url, timeout=10) as http:
        assert http.get("/api/model").status_code == 200


def test_an_upload_whose_body_trickles_past_its_deadline_gets_408(vivid_model, start_server):
    url = start_server(create_app(vivid_model, limits=Limits(upload_timeout_s=0.5)))
    with socket.create_connection(("127.0.0.1", _port(url))) as sock:
        sock.sendall(b"POST /api/encode HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"\0" * 10)
        sock.settimeout(10)
        response = b""
        while chunk := sock.recv(65536):  # until the server closes: the body it gave up on cannot be skipped
            response += chunk
    assert response.startswith(b"HTTP/1.1 408") and b"the upload took longer than 0.5 s" in response


def _counting_decodes(monkeypatch, pause: float) -> list[int]:
    """Patch the server's decoder to record the most decodes running at once."""
    from infogan import server

    active, most, lock = [0], [0], threading.Lock()
    decode = server.decode_upload

    def counting(*args):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(pause)
        try:
            return decode(*args)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(server, "decode_upload", counting)
    return most


def test_uploads_are_decoded_a_few_at_a_time(vivid_model, start_server, monkeypatch):
    most = _counting_decodes(monkeypatch, pause=0.05)
    url = start_server(create_app(vivid_model, limits=Limits(max_decodes=2)))
    digit = _png(np.zeros((256, 256), dtype=np.uint8))
    with httpx2.Client(base_url=url, timeout=60) as http, ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(lambda i: http.post("/api/encode", content=digit).status_code, range(24)))
    assert statuses == [200] * 24
    assert 1 <= most[0] <= 2  # the shared threadpool (40 threads) used to decode all 12 at once


def test_uploads_beyond_the_limit_in_flight_get_503(vivid_model, start_server, monkeypatch):
    _counting_decodes(monkeypatch, pause=0.5)
    url = start_server(create_app(vivid_model, limits=Limits(max_uploads=2, max_decodes=1)))
    digit = _png(np.zeros((28, 28), dtype=np.uint8))
    with httpx2.Client(base_url=url, timeout=60) as http, ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda i: http.post("/api/encode", content=digit), range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) >= 2 and set(statuses) <= {200, 503} and 503 in statuses
    assert all("too many uploads" in r.json()["error"] for r in responses if r.status_code == 503)


def test_an_upload_with_too_many_pixels_is_refused_before_decoding(vivid_model):
    with TestClient(create_app(vivid_model, limits=Limits(max_image_pixels=1000))) as small:
        square = _png(np.zeros((40, 40), dtype=np.uint8))
        assert "40×40 pixels; the limit is 1000 in all" in _error(small.post("/api/encode", content=square), 413)


def test_a_16_bit_upload_is_scaled_not_turned_white(client):
    ramp = np.tile(np.linspace(0, 65535, 28).round().astype(np.uint16), (28, 1))
    buffer = io.BytesIO()
    Image.fromarray(ramp).save(buffer, format="PNG")
    reading = client.post("/api/encode?invert=false", content=buffer.getvalue()).json()
    shown = np.array(Image.open(io.BytesIO(base64.b64decode(reading["input"].split(",", 1)[1]))))[:, :, 0]
    assert np.abs(shown.astype(int) - np.round(ramp / 257).astype(int)).max() <= 1


# ----- names and units --------------------------------------------------------------------
@pytest.fixture(scope="module")
def annotated(vivid_model):
    """The vivid model with named classes and a unit map on c2."""
    import copy

    from infogan.calibration import UnitMap

    model = copy.deepcopy(vivid_model)
    model.set_names("c1", ["zero", "one", None, "three", "four", "five", "six", "seven", "eight", "nine"])
    model.calibration = {"c2": UnitMap("c2", "slant", "deg", 0.9, (-2.0, 0.0, 2.0), (-20.0, 0.0, 30.0))}
    return model


@pytest.fixture(scope="module")
def named_client(annotated):
    with TestClient(create_app(annotated, source="named")) as test_client:
        yield test_client


def test_describe_gives_names_and_units(named_client):
    codes = named_client.get("/api/model").json()["codes"]
    assert codes[0]["names"][:3] == ["zero", "one", None]
    assert codes[1]["unit"] == {
        "property": "slant",
        "unit": "deg",
        "rho": 0.9,
        "code": [-2.0, 0.0, 2.0],
        "value": [-20.0, 0.0, 30.0],
        "column": "slant_deg",
    }
    assert "unit" not in codes[2]


def test_generate_takes_class_names(named_client, annotated):
    by_name = _pixels(named_client.get("/api/generate", params={"n": 4, "seed": 1, "c1": "seven"}))
    by_index = _pixels(named_client.get("/api/generate", params={"n": 4, "seed": 1, "c1": 7}))
    assert torch.equal(by_name, by_index)
    message = _error(named_client.get("/api/generate?c1=ten"), 400)
    assert message == "c1 has no class named 'ten'; its names: zero, one, three, four, five, six, seven, eight, nine"


def test_traverse_and_encode_use_names_and_units(named_client, annotated):
    pixels = _pixels(named_client.get("/api/traverse", params={"code": "c1", "steps": 3}))
    figure = annotated.traversal("c1", steps=3, seed=0)
    assert torch.equal(pixels, _as_png_pixels(viz.traversal_image(figure, annotated.row_labels("c1"))))
    digit = _png(_as_png_pixels(annotated.generate(1, codes={"c1": 6}, seed=3)[0])[0].numpy())
    reading = named_client.post("/api/encode?invert=false", content=digit).json()
    best = reading["codes"]["c1"]
    assert reading["names"] == {"c1": annotated.names["c1"][best]}
    slant = annotated.calibration["c2"].to_value(reading["codes"]["c2"])
    assert reading["units"]["slant_deg"] == pytest.approx(float(slant))
