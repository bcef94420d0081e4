import numpy as np
import pytest
import torch

from infogan.data import EpochSampler, ImageDataset
from infogan.data.batches import StepBatchSampler, choose_mode, make_batches, memory_budget
from infogan.errors import InfoGANError

CPU = torch.device("cpu")


@pytest.fixture
def memmapped(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (40, 1, 4, 4), dtype=np.uint8)
    np.save(tmp_path / "images.npy", images)
    return ImageDataset(np.load(tmp_path / "images.npy", mmap_mode="r"))


def test_mode_follows_the_budget_unless_forced():
    assert choose_mode("auto", 100, 1000) == "resident"
    assert choose_mode("auto", 1001, 1000) == "stream"
    assert choose_mode("stream", 1, 1000) == "stream" and choose_mode("resident", 10**12, 1) == "resident"
    with pytest.raises(InfoGANError, match="data mode"):
        choose_mode("mmap", 1, 1)
    assert memory_budget(CPU) > 0


@pytest.mark.parametrize("workers", [0, 1])
def test_streamed_batches_are_the_resident_ones(memmapped, workers):
    kwargs = {"batch_size": 6, "seed": 3, "device": CPU}
    resident = make_batches(memmapped, mode="resident", **kwargs)
    streamed = make_batches(memmapped, mode="stream", workers=workers, **kwargs)
    assert (resident.mode, streamed.mode) == ("resident", "stream")
    expected = [resident.batch(step) for step in range(14)]  # past two epochs of 6 batches
    assert all(b.dtype == torch.float32 and b.shape == (6, 1, 4, 4) for b in expected)
    assert all(torch.equal(a, b) for a, b in zip(streamed.from_step(0, 14), expected, strict=True))
    resumed = list(streamed.from_step(9, 14))  # a resume replays the same batches
    assert all(torch.equal(a, b) for a, b in zip(resumed, expected[9:], strict=True))
    assert torch.equal(streamed.batch(11), expected[11])


def test_ranks_take_disjoint_slices_of_one_global_batch(memmapped):
    ranks = [make_batches(memmapped, batch_size=4, seed=0, device=CPU, rank=r, world_size=2) for r in (0, 1)]
    whole = make_batches(memmapped, batch_size=8, seed=0, device=CPU)
    assert torch.equal(torch.cat([r.batch(5) for r in ranks]), whole.batch(5))


def test_step_batch_sampler_yields_each_steps_indices():
    sampler = EpochSampler(10, 3, seed=1, device=CPU)
    batches = list(StepBatchSampler(sampler, 2, 5, slice(0, 3)))
    assert batches == [sampler.indices(s).tolist() for s in (2, 3, 4)]
    assert len(StepBatchSampler(sampler, 2, 5, slice(0, 3))) == 3


def test_worker_processes_reopen_a_memory_map_rather_than_copy_it(memmapped):
    import pickle

    from infogan.data.batches import ImageRows

    rows = pickle.loads(pickle.dumps(ImageRows(memmapped)))
    assert rows.images is None  # only the file name travelled
    assert torch.equal(rows.__getitems__([3, 1]), torch.from_numpy(np.array(memmapped.images[[3, 1]])))


@pytest.mark.parametrize("mode", ["resident", "stream"])
def test_images_at_a_steps_indices_are_its_batch(memmapped, mode):
    batches = make_batches(memmapped, batch_size=5, seed=2, device=CPU, mode=mode, workers=0)
    indices = batches.indices(9)
    assert torch.equal(indices, batches.sampler.indices(9)[:5])
    assert torch.equal(batches.images_at(indices), batches.batch(9))
    assert torch.equal(batches.images_at(torch.tensor([3, 3])), batches.images_at(torch.tensor([3])).repeat(2, 1, 1, 1))
