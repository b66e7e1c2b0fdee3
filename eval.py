r"""Evaluates a checkpoint; writes eval/step_<N>.json (and eval/step_<N>_prd.png for images).

python eval.py --workdir=runs/gan_ring8            # the latest checkpoint
python eval.py --workdir=runs/vae_mnist --step=5000
python eval.py --workdir=runs/gan_mnist --classifier=runs/classifiers/mnist --num_samples=10000
python eval.py --workdir=runs/gan_cifar --features=inception --inception_weights=PATH

Every run gets the model's own numbers (ELBO, 2D mode coverage, and for likelihood
models the test NLL in nats per example and bits/dim with the number of test
examples scored; --features=none gives those alone). Image
models also get FID, IS, KID, PRD, k-NN precision / recall, density / coverage
and F1 of --num_samples samples against the test split, in the space of a
feature extractor named in every key: "FID (classifier:mnist)" is computed with
the project's MNIST classifier and is not comparable with an Inception FID.
"""

import json
import sys

from absl import app, flags

from gen import cli
from gen.eval import classifier as classifier_lib
from gen.eval import run as eval_run

_WORKDIR = flags.DEFINE_string('workdir', None, 'Run directory written by train.py.')
_STEP = flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
_FEATURES = flags.DEFINE_enum(
    'features',
    None,
    list(eval_run.FEATURES),
    'Feature space of the sample-quality metrics of image models. Default: the dataset\'s '
    'classifier when one is trained, else none (with a message saying how to get one).',
)
_CLASSIFIER = flags.DEFINE_string(
    'classifier',
    None,
    'Classifier run directory (python -m gen.eval.classifier). Default: '
    f'${classifier_lib.ENV_VAR}/<dataset>, else {classifier_lib.DEFAULT_ROOT}/<dataset>.',
)
_INCEPTION = flags.DEFINE_string(
    'inception_weights',
    None,
    'FID Inception weights file for --features=inception (default: $GEN_INCEPTION_WEIGHTS).',
)
_NUM_SAMPLES = flags.DEFINE_integer(
    'num_samples',
    None,
    'Samples for the sample-quality metrics (default: config eval.quality_num_samples, 10,000).',
)
flags.mark_flags_as_required(['workdir'])


def main(argv):
  del argv
  cli.quiet_library_logs()
  cli.setup_compilation_cache()
  try:
    result = eval_run.run(
        _WORKDIR.value,
        _STEP.value,
        features=_FEATURES.value,
        classifier=_CLASSIFIER.value,
        inception_weights=_INCEPTION.value,
        num_samples=_NUM_SAMPLES.value,
    )
  except cli.USER_ERRORS as e:
    sys.exit(f'error: {e}')
  path = f'{_WORKDIR.value}/eval/step_{result["step"]}.json'
  print(json.dumps(result['metrics'], indent=2))
  quality = result['provenance'].get('sample_quality', {})
  if 'skipped' in quality:
    print(f'No sample-quality metrics: {quality["skipped"]}.')
  elif quality:
    print(
        f'Sample quality: {quality["num_samples"]} samples vs {quality["reference"]["num_images"]} '
        f'{quality["reference"]["dataset"]}/{quality["reference"]["split"]} images, features '
        f'{quality["feature_extractor"]} (weights SHA-256 {quality["weights_sha256"][:16]}...); '
        f'PRD curve in {_WORKDIR.value}/{quality["prd_png"]}.'
    )
  print(f'Wrote {path}; sample grids are in {_WORKDIR.value}/samples/.')


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags_with_overrides)
