"""Shared fixtures: tiny configs, a tiny synthetic dataset, and the real MNIST location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from infogan.config import preset
from infogan.data import ImageDataset

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _decoded_images_cache(tmp_path_factory):
    """Decoded image folders go to a temporary cache, never the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INFOGAN_CACHE_DIR", str(tmp_path_factory.mktemp("decoded")))
        yield


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True, warn_only=True)
    yield


@pytest.fixture
def tiny_config():
    """The MNIST preset with a short schedule and small batches, in fp32 whatever the CPU (not ``auto``)."""
    return preset("mnist").replace(
        steps=4, batch_size=8, log_every=2, sample_every=2, checkpoint_every=2, eval_every=2, precision="fp32"
    )


@pytest.fixture
def tiny_data():
    """32 random 28×28 'images' with labels 0..3."""
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(32, 1, 28, 28, generator=generator)
    return ImageDataset(images, torch.arange(32) % 4)


@pytest.fixture(scope="module")
def tiny_sprites():
    """1,536 procedural dSprites images, for InfoGAN-CR's runs."""
    from infogan.data.dsprites import DSprites

    return DSprites.generate((3, 2, 4, 8, 8)).image_dataset()


@pytest.fixture
def cr_config():
    """The dSprites preset with InfoGAN-CR's contrastive regulariser on from step 2 of 4."""
    return preset("dsprites").replace(
        steps=4, batch_size=8, log_every=1, sample_every=4, checkpoint_every=2, cr_weight=2.0, cr_start=2
    )


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """Where the real MNIST files are: $INFOGAN_DATA_ROOT, else ../shared/data beside the repo."""
    root = Path(os.environ.get("INFOGAN_DATA_ROOT") or SHARED_DATA).resolve()
    if not (root / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
        pytest.fail(f"MNIST IDX files not found under {root}/MNIST/raw: set INFOGAN_DATA_ROOT")
    return root


@pytest.fixture(scope="session")
def vivid_model():
    """A random MNIST-layout model whose codes visibly change its images.

    The training init, N(0, 0.02), maps every input to a near-uniform grey in which a code's
    effect is below one 8-bit step; He-initialised weights make each code's effect plain.
    """
    from infogan import InfoGAN, ModelConfig

    torch.manual_seed(0)
    model = InfoGAN(ModelConfig(), device="cpu")
    with torch.no_grad():
        for module in model.nets.modules():
            if isinstance(module, torch.nn.Linear | torch.nn.Conv2d | torch.nn.ConvTranspose2d):
                torch.nn.init.kaiming_normal_(module.weight)
    return model


@pytest.fixture
def start_server():
    """A function that serves an app on a free loopback port in a thread and returns its URL."""
    import threading
    import time

    from infogan.server import listen, uvicorn_server

    running = []

    def start(app) -> str:
        sock = listen("127.0.0.1", 0)
        server = uvicorn_server(app)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        running.append((server, thread))
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)
