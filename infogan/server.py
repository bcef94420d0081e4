"""The latent explorer: a local web page and a JSON/PNG HTTP API over one model (``infogan serve``).

Every parameter is checked before it reaches the model, and every model call runs on one
worker thread: ``InfoGAN`` flips its networks between train and eval mode around each call,
which is not safe from two threads at once. Uploads are decoded on a few threads of their own,
so that their memory stays bounded, and a connection must send each request's head within a
deadline, so that idle or trickling connections cannot hold the server.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import io
import ipaddress
import math
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from importlib import resources
from typing import NoReturn, TypeVar

import h11
import python_multipart  # noqa: F401  (starlette needs it to parse form uploads)
import torch
import uvicorn
from PIL import Image, UnidentifiedImageError
from starlette.applications import Starlette
from starlette.datastructures import QueryParams, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from torch import Tensor
from uvicorn.protocols.http.h11_impl import H11Protocol

from infogan import naming, viz
from infogan.data import image_to_tensor
from infogan.errors import InfoGANError
from infogan.latent import Code
from infogan.model import InfoGAN

T = TypeVar("T")

SLIDER_RANGE = (-2.0, 2.0)  # the page's sliders: the paper's traversal range
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
_ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; object-src 'none'",
}


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; anything beyond gets a 4xx with the limit in the message."""

    max_samples: int = 64
    max_steps: int = 20
    max_abs_value: float = 4.0  # continuous codes: twice the sliders' span, for extrapolation
    max_upload_bytes: int = 8 * 1024 * 1024
    max_image_side: int = 4096
    max_image_pixels: int = 4096 * 4096  # checked from the image's header, before its pixels are decoded
    max_queue: int = 64  # model calls waiting for the worker; more get 503
    # Uploads being received or decoded at once (more get 503), and decoded at once: each decode
    # holds up to max_image_pixels × 4 bytes and a few copies of it, each upload max_upload_bytes.
    max_uploads: int = 16
    max_decodes: int = 2
    header_timeout_s: float = 10.0  # to send a request's line and headers; then the connection is closed
    upload_timeout_s: float = 60.0  # to send an upload's body; then 408


def _fail(status: int, message: str) -> NoReturn:
    raise HTTPException(status_code=status, detail=message)


# ----- parameters -------------------------------------------------------------------------
def _single(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        _fail(400, f"{name} was given {len(values)} times; give it once")
    return values[0] if values else None


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _number(params: QueryParams, name: str, default: float, low: float, high: float) -> float:
    text = _single(params, name)
    if text is None:
        return float(default)
    try:
        value = float(text)
    except ValueError:
        _fail(400, f"{name} must be a number, not {text!r}")
    if not math.isfinite(value) or not low <= value <= high:
        _fail(400, f"{name} must lie in {_show(low)}..{_show(high)}, not {text}")
    return value


def _integer(params: QueryParams, name: str, default: int, low: int, high: int) -> int:
    value = _number(params, name, default, low, high)
    if not value.is_integer():
        _fail(400, f"{name} must be a whole number, not {value:g}")
    return int(value)


def _code_value(code: Code, text: str, limits: Limits, names: naming.ClassNames) -> float:
    if code.kind == "categorical":  # a class index or name
        try:
            return naming.class_of(code, names, text)
        except InfoGANError as err:
            _fail(400, str(err))
    try:
        value = float(text)
    except ValueError:
        _fail(400, f"{code.name} must be a number, not {text!r}")
    bound = limits.max_abs_value
    if not (math.isfinite(value) and -bound <= value <= bound):
        _fail(400, f"{code.name} must lie in {-bound:g}..{bound:g}, not {text}")
    return value


def parse_codes(params: QueryParams, model: InfoGAN, limits: Limits, *, reserved: set[str]) -> dict[str, float]:
    """Code values from query parameters (``c1=3&c2=0.5``); every other name must be in ``reserved``."""
    codes: dict[str, float] = {}
    for name in dict.fromkeys(params.keys()):
        if name in reserved:
            continue
        try:
            code = model.spec.code(name)
        except InfoGANError:
            known = ", ".join([*sorted(reserved), *(c.name for c in model.spec.codes)])
            _fail(400, f"unknown parameter {name!r}: give {known}")
        codes[name] = _code_value(code, _single(params, name) or "", limits, model.names)
    return codes


def _seed(params: QueryParams) -> int:
    return _integer(params, "seed", 0, 0, 2**31 - 1)


# ----- images -----------------------------------------------------------------------------
def decode_upload(data: bytes, shape: tuple[int, int, int], limits: Limits) -> Tensor:
    """An uploaded image file as (C, H, W) in [0, 1] at the model's size, after checking it."""
    if not data:
        _fail(400, "no image: send an image file as the request body or as the form field 'image'")
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
            width, height = image.size  # read from the header, before any pixels are decoded
            if max(width, height) > limits.max_image_side:
                _fail(413, f"the image is {width}×{height} pixels; the limit is {limits.max_image_side} per side")
            if width * height > limits.max_image_pixels:
                _fail(413, f"the image is {width}×{height} pixels; the limit is {limits.max_image_pixels} in all")
            return image_to_tensor(image, shape)
    except UnidentifiedImageError:
        _fail(415, f"not an image: send one of {', '.join(IMAGE_FORMATS)}")
    except Image.DecompressionBombError:
        _fail(413, f"the image has too many pixels; the limit is {limits.max_image_side} per side")
    except (OSError, ValueError) as err:
        _fail(400, f"cannot decode the image: {err}")


def match_polarity(image: Tensor, invert: str) -> tuple[Tensor, bool]:
    """Invert dark-on-light images (``auto``: when the border is bright), as MNIST digits are light on dark."""
    if invert == "auto":
        border = torch.cat([image[:, 0], image[:, -1], image[:, :, 0], image[:, :, -1]], dim=1)
        flip = image.shape[0] == 1 and float(border.mean()) > 0.5
    else:
        flip = invert == "true"
    return (1.0 - image if flip else image), flip


def _data_url(image: Tensor) -> str:
    return "data:image/png;base64," + base64.b64encode(viz.png_bytes(image)).decode("ascii")


async def _read_capped(request: Request, limit: int, seconds: float) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        _fail(413, f"the upload is {int(declared)} bytes; the limit is {limit}")
    chunks, size = [], 0
    try:
        async with asyncio.timeout(seconds):  # a trickled body must not hold its place for ever
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:  # a missing or false Content-Length does not get past this
                    _fail(413, f"the upload is over the limit of {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        _fail(408, f"the upload took longer than {seconds:g} s")
    return b"".join(chunks)


async def _upload_bytes(request: Request, limits: Limits) -> bytes:
    limit = limits.max_upload_bytes
    body = await _read_capped(request, limit, limits.upload_timeout_s)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return body

    async def replay() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=1, max_fields=8, max_part_size=limit)
    upload = form.get("image")
    if not isinstance(upload, UploadFile):
        _fail(400, "a multipart upload needs the image in a file field called 'image'")
    return await upload.read()


# ----- the workers ------------------------------------------------------------------------
class BoundedPool:
    """Jobs on ``threads`` threads of its own; with ``max_queue`` admitted already, it answers 503."""

    def __init__(self, threads: int, max_queue: int, *, name: str, busy: str) -> None:
        self.max_queue, self._busy = max_queue, busy
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self._waiting = 0  # only touched on the event loop, so needs no lock

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """A place in the queue for the duration, or a 503."""
        if self._waiting >= self.max_queue:
            raise HTTPException(503, f"{self._busy}; retry shortly", headers={"Retry-After": "1"})
        self._waiting += 1
        try:
            yield
        finally:
            self._waiting -= 1

    async def call(self, job: Callable[..., T], *args: object) -> T:
        """``job(*args)`` on one of the pool's threads (the caller is admitted already)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(job, *args))

    async def run(self, job: Callable[..., T], *args: object) -> T:
        """``job(*args)`` on one of the pool's threads, once admitted."""
        async with self.admitted():
            return await self.call(job, *args)

    def close(self) -> None:
        """Stop the threads after the jobs already queued."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class ModelWorker(BoundedPool):
    """Runs model calls one at a time on a single thread; a full queue answers 503."""

    def __init__(self, model: InfoGAN, max_queue: int) -> None:
        super().__init__(1, max_queue, name="infogan-model", busy="the model is busy")
        self.model = model

    async def run(self, job: Callable[..., T], *args: object) -> T:
        """``job(model, *args)`` on the worker thread."""
        return await super().run(job, self.model, *args)


def _upload_decoder(limits: Limits) -> BoundedPool:
    # A few threads of its own rather than the shared pool's 40: at most max_decodes images are
    # inflated at once, and few threads keep few malloc arenas holding freed memory afterwards.
    return BoundedPool(limits.max_decodes, limits.max_uploads, name="infogan-decode", busy="too many uploads at once")


def _sample_grid(model: InfoGAN, n: int, columns: int, codes: Mapping[str, float], seed: int) -> bytes:
    return viz.png_bytes(viz.grid_image(model.generate(n, codes=codes, seed=seed), columns=columns))


def _traversal_grid(model: InfoGAN, code: str, span: tuple[float, float], steps: int, seed: int) -> bytes:
    images = model.traversal(code, span=span, steps=steps, seed=seed)
    return viz.png_bytes(viz.traversal_image(images, model.row_labels(code)))


def _reading(model: InfoGAN, image: Tensor) -> dict[str, object]:
    encoding = model.encode(image.unsqueeze(0))
    codes: dict[str, float] = {name: int(probs[0].argmax()) for name, probs in encoding.probabilities.items()}
    codes |= {name: float(mean[0]) for name, mean in encoding.means.items()}
    return {
        "codes": codes,
        "names": {name: model.names[name][k] for name, k in codes.items() if model.names.get(name)},
        "probabilities": {name: probs[0].tolist() for name, probs in encoding.probabilities.items()},
        "sigmas": {name: float(sigma[0]) for name, sigma in encoding.sigmas.items()},
        "units": {column: float(values[0]) for column, values in encoding.in_units().items()},
    }


# ----- endpoints --------------------------------------------------------------------------
def _png(data: bytes) -> Response:
    return Response(data, media_type="image/png", headers={"Cache-Control": "no-store"})


def _code_description(model: InfoGAN, code: Code) -> dict[str, object]:
    """A code for the page: its classes and their names (None where unnamed), or its slider range
    and, once calibrated, its unit map (knots the page interpolates to show values in units)."""
    if code.kind == "categorical":
        names = model.names.get(code.name) or [None] * code.num_classes
        return {"name": code.name, "kind": code.kind, "num_classes": code.num_classes, "names": names}
    entry: dict[str, object] = {"name": code.name, "kind": code.kind, "range": list(SLIDER_RANGE)}
    if code.name in model.calibration:
        unit_map = model.calibration[code.name]
        entry["unit"] = {**unit_map.as_dict(), "column": unit_map.column}
    return entry


async def describe(request: Request) -> JSONResponse:
    """GET /api/model: the image shape, the codes and the request limits."""
    model: InfoGAN = request.app.state.worker.model
    codes = [_code_description(model, c) for c in model.spec.codes]
    return JSONResponse(
        {
            "source": request.app.state.source,
            "image_shape": list(model.image_shape),
            "codes": codes,
            "noise_dim": model.spec.noise_dim,
            "limits": asdict(request.app.state.limits),
        }
    )


async def generate(request: Request) -> Response:
    """GET /api/generate: a PNG grid of ``n`` samples with the given codes and noise seed."""
    limits: Limits = request.app.state.limits
    params = request.query_params
    n = _integer(params, "n", 16, 1, limits.max_samples)
    columns = _integer(params, "columns", math.ceil(math.sqrt(n)), 1, limits.max_samples)
    seed = _seed(params)
    codes = parse_codes(params, request.app.state.worker.model, limits, reserved={"n", "columns", "seed"})
    return _png(await request.app.state.worker.run(_sample_grid, n, columns, codes, seed))


async def traverse(request: Request) -> Response:
    """GET /api/traverse: a PNG of one code's traversal (the paper's Figure 2)."""
    limits: Limits = request.app.state.limits
    params = request.query_params
    unknown = set(params.keys()) - {"code", "low", "high", "steps", "seed"}
    if unknown:
        _fail(400, f"unknown parameter {sorted(unknown)[0]!r}: traverse takes code, low, high, steps, seed")
    name = _single(params, "code")
    if not name:
        _fail(400, "give the code to traverse, e.g. code=c2")
    try:
        request.app.state.worker.model.spec.code(name)
    except InfoGANError as err:
        _fail(400, str(err))
    bound = limits.max_abs_value
    span = (
        _number(params, "low", SLIDER_RANGE[0], -bound, bound),
        _number(params, "high", SLIDER_RANGE[1], -bound, bound),
    )
    if span[0] >= span[1]:
        _fail(400, f"low must be below high, got {span[0]:g} and {span[1]:g}")
    steps = _integer(params, "steps", 10, 2, limits.max_steps)
    return _png(await request.app.state.worker.run(_traversal_grid, name, span, steps, _seed(params)))


async def encode(request: Request) -> JSONResponse:
    """POST /api/encode: Q's reading of an uploaded image (the body, or the form field ``image``)."""
    limits: Limits = request.app.state.limits
    invert = _single(request.query_params, "invert") or "auto"
    if invert not in ("auto", "true", "false"):
        _fail(400, f"invert must be auto, true or false, not {invert!r}")
    model: InfoGAN = request.app.state.worker.model
    decoder: BoundedPool = request.app.state.decoder
    async with decoder.admitted():  # bounds the uploads held in memory, while received and decoded
        try:
            data = await _upload_bytes(request, limits)
        except ClientDisconnect:
            _fail(400, "the upload was cut off")
        image = await decoder.call(decode_upload, data, model.image_shape, limits)  # decoding needs no model
        del data
    image, inverted = match_polarity(image, invert)
    reading = await request.app.state.worker.run(_reading, image)
    return JSONResponse({**reading, "inverted": inverted, "input": _data_url(image)})


async def page(request: Request) -> Response:
    """GET / and /static/NAME: the explorer's own files, from memory; nothing else is served."""
    name = request.path_params.get("name", "index.html")
    assets: dict[str, bytes] = request.app.state.assets
    if name not in assets:
        _fail(404, f"not found: {request.url.path}")
    return Response(assets[name], media_type=_ASSETS[name], headers=_HEADERS)


# ----- errors -----------------------------------------------------------------------------
async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = exc.detail if exc.status_code != 404 else f"not found: {request.url.path}"
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)


async def _user_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=400)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, status_code=500)


# ----- the app ----------------------------------------------------------------------------
def _load_assets() -> dict[str, bytes]:
    folder = resources.files("infogan") / "static"
    return {name: (folder / name).read_bytes() for name in _ASSETS}


def create_app(model: InfoGAN, *, source: str = "", limits: Limits | None = None) -> Starlette:
    """The explorer for ``model``; ``source`` names it on the page."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await app.state.worker.run(_sample_grid, 1, 1, {}, 0)  # warm up, so the first page load is not slow
        yield
        app.state.worker.close()
        app.state.decoder.close()

    routes = [
        Route("/", page),
        Route("/static/{name}", page),
        Route("/api/model", describe),
        Route("/api/generate", generate),
        Route("/api/traverse", traverse),
        Route("/api/encode", encode, methods=["POST"]),
    ]
    handlers = {HTTPException: _http_error, InfoGANError: _user_error, Exception: _server_error}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.limits = limits or Limits()
    app.state.worker = ModelWorker(model, app.state.limits.max_queue)
    app.state.decoder = _upload_decoder(app.state.limits)
    app.state.source = source
    app.state.assets = _load_assets()
    return app


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one), with a one-line error."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as err:
        raise InfoGANError(f"cannot resolve host {host!r}: {err.strerror}") from None
    # proto must be IPPROTO_TCP, not 0 (socket.create_server's), for asyncio to set TCP_NODELAY on
    # each connection: without it, Nagle's algorithm holds back the body written after the
    # headers until the client's delayed ACK, adding 40 ms to every keep-alive request.
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as err:
        sock.close()
        raise InfoGANError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    return sock


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(app: Starlette, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``app`` until Ctrl-C."""
    sock = listen(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"infogan explorer: http://{shown}:{bound}/  (API under /api/, Ctrl-C to stop)", flush=True)
    if not is_loopback(host):
        print(f"warning: listening on {host}, reachable from other machines, with no authentication", flush=True)
    uvicorn_server(app).run(sockets=[sock])


class HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request's line and headers.

    uvicorn has none: its keep-alive timer starts only after a response and any byte resets it,
    so a connection that sends nothing, or a byte at a time (slowloris), was held for ever.
    Here a connection that has not sent a whole request head ``header_timeout`` seconds after
    it opened, or after its previous response, is closed (Go's ReadHeaderTimeout, nginx's
    client_header_timeout). A request being served is not timed.
    """

    def __init__(self, *args: object, header_timeout: float, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._header_timeout = header_timeout
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # a request's head has arrived
            self._cancel_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_head()  # the next request on a kept-alive connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        self._cancel_deadline()
        self._deadline = self.loop.call_later(self._header_timeout, self._head_overdue)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_overdue(self) -> None:
        self._deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def uvicorn_server(app: Starlette) -> uvicorn.Server:
    """The HTTP server that ``serve`` runs: quiet but for warnings, quick to stop."""
    # No limit_concurrency: uvicorn counts open connections against it, so 64 idle sockets made
    # every other client's request a 503. Memory is bounded where it is spent instead: the model
    # queue (Limits.max_queue) and the uploads (Limits.max_uploads, max_decodes), and idle
    # connections are closed by the head deadline and uvicorn's keep-alive timeout (5 s).
    protocol = functools.partial(HeadDeadlineProtocol, header_timeout=app.state.limits.header_timeout_s)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2, http=protocol)  # type: ignore[arg-type]
    return uvicorn.Server(config)
