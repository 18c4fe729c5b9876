"""Train the bundled example: a small HGQ2 jet-tagger-like classifier, deterministically.

16 input features, 5 classes, QDense 16 -> 32 -> 16 -> 5 with ReLU. Every quantizer is
per-element (heterogeneous): KIF datalane quantizers with WRAP overflow and RND rounding for
activations (calibrated with ``hgq.utils.trace_minmax`` after training), KBI weight quantizers
with SAT_SYM overflow and RND rounding. The last layer has no output quantizer, so the model
output is the exact fixed-point accumulator of the last QDense.

The data set is synthetic (no download): five classes, each a mixture of two Gaussians in 16
dimensions, generated from a fixed seed by :func:`make_dataset`. ``data.npz`` holds the test
split only (``x_test`` float32 of shape (1000, 16), ``y_test`` int64); the training and
calibration splits are not stored: ``make_dataset()`` regenerates all three bit for bit.

Usage::

    python examples/jet_tagger/train.py            # writes model.keras and data.npz next to this file
    python examples/jet_tagger/train.py --out DIR  # elsewhere

Needs the Keras extra (keras, hgq2, jax). The backend is forced to JAX on CPU and XLA is kept
single-threaded so that two runs give identical weights.
"""

from __future__ import annotations

import os

# Set before keras / jax are imported: JAX backend, CPU only, one thread (determinism).
os.environ['KERAS_BACKEND'] = 'jax'
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
_xla_flags = os.environ.get('XLA_FLAGS', '')
if '--xla_cpu_multi_thread_eigen' not in _xla_flags:
    os.environ['XLA_FLAGS'] = (_xla_flags + ' --xla_cpu_multi_thread_eigen=false').strip()

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np

SEED = 1234
N_FEATURES = 16
N_CLASSES = 5
N_TRAIN = 20000
N_TEST = 1000
N_CALIB = 4000
EPOCHS = 30
BATCH = 256
BETA0 = 2e-6


def make_dataset(seed: int = SEED):
    """Seeded synthetic 5-class data: each class is a two-component Gaussian mixture in 16-d.

    Features are float32 and roughly in [-4, 4], like standardized jet features. The classes
    overlap on purpose, so a small network tops out well below 100 % accuracy.
    """
    rng = np.random.default_rng(seed)
    n_total = N_TRAIN + N_TEST + N_CALIB
    centers = rng.normal(0.0, 0.4, size=(N_CLASSES, 2, N_FEATURES))
    scales = rng.uniform(0.6, 1.2, size=(N_CLASSES, 2, N_FEATURES))
    mixing = rng.normal(0.0, 0.12, size=(N_CLASSES, N_FEATURES, N_FEATURES))
    y = rng.integers(0, N_CLASSES, size=n_total)
    comp = rng.integers(0, 2, size=n_total)
    z = rng.normal(size=(n_total, N_FEATURES)) * scales[y, comp]
    # a class-dependent linear mix correlates the features
    z = z + np.einsum('nf,nfg->ng', z, mixing[y])
    x = (centers[y, comp] + z).astype(np.float32)
    sl_train = slice(0, N_TRAIN)
    sl_test = slice(N_TRAIN, N_TRAIN + N_TEST)
    sl_calib = slice(N_TRAIN + N_TEST, n_total)
    return (x[sl_train], y[sl_train]), (x[sl_test], y[sl_test]), x[sl_calib]


def build_model():
    import keras
    from hgq.config import LayerConfigScope, QuantizerConfigScope
    from hgq.layers import QDense

    with (
        QuantizerConfigScope(place='datalane', q_type='kif', overflow_mode='WRAP', round_mode='RND', f0=6),
        QuantizerConfigScope(place=('weight', 'bias'), q_type='kbi', b0=8, i0=2),
        LayerConfigScope(enable_ebops=True, beta0=BETA0),
    ):
        inp = keras.Input((N_FEATURES,), name='features')
        x = QDense(32, activation='relu', name='dense1')(inp)
        x = QDense(16, activation='relu', name='dense2')(x)
        out = QDense(N_CLASSES, name='logits')(x)
    return keras.Model(inp, out, name='jet_tagger')


def weights_digest(model) -> str:
    h = hashlib.sha256()
    for w in model.weights:
        h.update(w.path.encode())
        h.update(np.ascontiguousarray(np.asarray(w.numpy())).tobytes())
    return h.hexdigest()


def train(out_dir: Path, verbose: int = 0) -> dict:
    import keras
    from hgq.utils import trace_minmax

    t0 = time.perf_counter()
    keras.utils.set_random_seed(SEED)
    (x_train, y_train), (x_test, y_test), x_calib = make_dataset(SEED)
    model = build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=['accuracy'],
    )
    model.fit(x_train, y_train, batch_size=BATCH, epochs=EPOCHS, shuffle=True, verbose=verbose)
    # WRAP activations: set their integer bits from calibration data (training data + calib split)
    ebops = trace_minmax(model, np.concatenate([x_train, x_calib]), batch_size=4096)
    logits = model.predict(x_test, batch_size=4096, verbose=0)
    acc = float(np.mean(np.argmax(logits, axis=1) == y_test))

    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / 'model.keras'
    model.save(model_path)
    np.savez_compressed(out_dir / 'data.npz', x_test=x_test, y_test=y_test)
    info = {
        'accuracy': acc,
        'ebops': int(ebops),
        'weights_sha256': weights_digest(model),
        'model_bytes': model_path.stat().st_size,
        'seconds': time.perf_counter() - t0,
    }
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path, default=Path(__file__).resolve().parent, help='output directory')
    parser.add_argument('--verbose', type=int, default=0, help='keras fit verbosity')
    args = parser.parse_args(argv)
    info = train(args.out, verbose=args.verbose)
    print(f'test accuracy  {info["accuracy"]:.4f}')
    print(f'EBOPs          {info["ebops"]}')
    print(f'model.keras    {info["model_bytes"]} bytes')
    print(f'weights sha256 {info["weights_sha256"]}')
    print(f'time           {info["seconds"]:.1f} s')


if __name__ == '__main__':
    main()
