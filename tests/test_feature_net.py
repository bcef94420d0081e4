"""The feature net behind FID and KID: deterministic training, its file, and the shipped nets."""

import json

import pytest
import torch
from datasets_on_disk import write_idx_dataset
from safetensors.torch import save_file
from torch.testing import assert_close

from infogan.data import ImageDataset, load_dataset
from infogan.errors import InfoGANError
from infogan.feature_net import (
    DATASETS,
    FeatureNet,
    Recipe,
    accuracy,
    asset_path,
    features,
    load_feature_net,
    main,
    predicted_labels,
    read_feature_net,
    save_feature_net,
    train_feature_net,
)

TINY = Recipe(batch_size=16)


@pytest.fixture
def labelled():
    """48 random 28×28 uint8 'images' in 3 classes."""
    generator = torch.Generator().manual_seed(2)
    images = torch.randint(0, 256, (48, 1, 28, 28), generator=generator, dtype=torch.uint8)
    return ImageDataset(images, torch.arange(48) % 3)


def test_a_few_training_steps_are_deterministic_and_leave_the_process_as_it_was(labelled):
    torch.manual_seed(5)
    threads, rng = torch.get_num_threads(), torch.get_rng_state()
    first = train_feature_net(labelled, TINY, max_steps=3).state_dict()
    second = train_feature_net(labelled, TINY, max_steps=3).state_dict()
    for name, tensor in first.items():
        assert torch.equal(tensor, second[name]), name
    assert torch.get_num_threads() == threads and torch.equal(torch.get_rng_state(), rng)
    other_seed = train_feature_net(labelled, Recipe(batch_size=16, seed=1), max_steps=3).state_dict()
    assert not torch.equal(first["head.weight"], other_seed["head.weight"])
    longer = train_feature_net(labelled, TINY, max_steps=4).state_dict()
    assert not torch.equal(first["head.weight"], longer["head.weight"])


def test_features_are_the_128_penultimate_activations(labelled):
    net = train_feature_net(labelled, TINY, max_steps=1)
    as_bytes, as_floats = features(net, labelled.images), features(net, labelled.images.float() / 255)
    assert as_bytes.shape == (48, 128) and as_bytes.dtype == "float64"
    assert_close(torch.from_numpy(as_bytes), torch.from_numpy(as_floats))
    logits = net.head(torch.from_numpy(as_bytes).float().relu())
    assert_close(logits, net(labelled.images.float() / 255), atol=1e-5, rtol=0)
    with pytest.raises(InfoGANError, match="1×28×28"):
        features(net, torch.zeros(2, 3, 32, 32))


def test_predicted_labels_are_the_nets_argmax(labelled):
    net = train_feature_net(labelled, TINY, max_steps=2)
    labels = predicted_labels(net, labelled.images)
    assert labels.shape == (48,) and labels.tolist() == net(labelled.images.float() / 255).argmax(1).tolist()
    assert accuracy(net, labelled) == (labels == labelled.labels.numpy()).mean()
    with pytest.raises(InfoGANError, match="1×28×28"):
        predicted_labels(net, torch.zeros(2, 1, 32, 32))


def test_the_file_round_trips_with_its_header(labelled, tmp_path):
    net = train_feature_net(labelled, TINY, max_steps=2)
    path = tmp_path / "net.safetensors"
    save_feature_net(net, path, dataset="mnist", recipe=TINY, test_accuracy=0.5)
    loaded, header = read_feature_net(path, "mnist")
    for name, tensor in net.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name])
    assert (header["version"], header["dataset"], header["test_accuracy"]) == ("1", "mnist", "0.5000")
    recipe = json.loads(header["recipe"])
    assert (recipe["batch_size"], recipe["threads"], recipe["split"], recipe["precision"]) == (16, 1, "train", "fp32")


def _rewritten(path, tmp_path, *, header=None, tensors=None):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        meta, weights = handle.metadata(), {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    out = tmp_path / "edited.safetensors"
    save_file(weights | (tensors or {}), str(out), metadata=meta | (header or {}))
    return out


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"header": {"version": "0"}}, "holds feature net v0, this infogan reads v1: retrain it with"),
        ({"header": {"dataset": "fashion-mnist"}}, "was trained on fashion-mnist, not mnist"),
        ({"header": {"image_shape": "[3, 32, 32]"}}, "image shape or feature size"),
        ({"header": {"format": "infogan-checkpoint-v1"}}, "is not a feature net file"),
        ({"tensors": {"head.weight": torch.zeros(10, 64)}}, "its tensors do not fit feature net v1"),
    ],
)
def test_a_file_of_another_version_dataset_or_shape_is_refused_in_one_line(labelled, tmp_path, edit, message):
    path = tmp_path / "net.safetensors"
    save_feature_net(FeatureNet(), path, dataset="mnist", recipe=TINY, test_accuracy=0.1)
    with pytest.raises(InfoGANError, match=message) as err:
        read_feature_net(_rewritten(path, tmp_path, **edit), "mnist")
    assert "\n" not in str(err.value)


def test_a_missing_or_foreign_file_is_refused_in_one_line(tmp_path):
    with pytest.raises(InfoGANError, match=r"no feature net at .*retrain it with python -m infogan\.feature_net"):
        read_feature_net(tmp_path / "absent.safetensors", "mnist")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(InfoGANError, match="is not a feature net file"):
        read_feature_net(tmp_path / "junk.safetensors", "mnist")
    with pytest.raises(InfoGANError, match="no feature net for svhn"):
        load_feature_net("svhn")


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_shipped_net_classifies_the_real_test_set_as_its_header_says(dataset, mnist_root):
    net, header = read_feature_net(asset_path(dataset), dataset)
    assert asset_path(dataset).stat().st_size < 500_000
    test = load_dataset(dataset, "test", mnist_root)
    assert accuracy(net, test) == pytest.approx(float(header["test_accuracy"]), abs=1e-4)
    assert json.loads(header["recipe"])["seed"] == 0 and float(header["test_accuracy"]) > 0.85


def test_retraining_from_the_command_line_writes_a_net_and_compares_it_with_the_shipped_one(
    tmp_path, capsys, monkeypatch
):
    import torchvision.datasets.mnist as tv

    monkeypatch.setattr(tv.MNIST, "download", lambda self: None)  # offline: missing files are an error
    write_idx_dataset(tmp_path, "MNIST", n_train=40, n_test=10)
    out = tmp_path / "net.safetensors"
    assert main(["--retrain", "mnist", "--data-root", str(tmp_path), "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["file"] == str(out) and report["matches_shipped"] is False and 0 <= report["test_accuracy"] <= 1
    assert read_feature_net(out, "mnist")[1]["recipe"] == json.dumps(
        {**Recipe().__dict__, "split": "train", "optimizer": "adam", "precision": "fp32"}
    )
    assert main(["--retrain", "mnist", "--data-root", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
