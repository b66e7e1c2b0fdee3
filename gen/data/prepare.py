"""Builds a TFDS dataset in array_record format from manually downloaded files.

    python -m gen.data.prepare mnist --manual_dir "$GEN_DATA_DIR/mnist"

writes ``<--data_dir>/mnist/<version>/`` (default ``--data_dir``:
``$GEN_DATA_DIR/tfds``, else TFDS's default data dir), which
``gen.data.sources.load('tfds:mnist', split)`` then reads without TensorFlow.

How TFDS takes the files from ``--manual_dir`` instead of downloading them:
TFDS registers every URL it downloads with its size, sha256 and file name
(``tensorflow_datasets/url_checksums/<name>.txt``). Before downloading a URL,
``DownloadManager._download_or_get_cache`` looks for
``<manual_dir>/<registered file name>`` and, if it exists, uses that file
(``_get_manually_downloaded_path``) after checking its size and sha256 against
the registered ones. So ``--manual_dir`` must hold the original files under
their original names, e.g. for mnist and fashion_mnist
``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``: exactly the layout of
``<data dir>/<name>/`` that ``gen.data.sources`` reads. GCS downloads are
turned off so nothing is fetched from the network.

Building needs TensorFlow (TFDS's builders read and encode with it):
``pip install -r requirements-prepare.txt``. Reading does not.
"""

import argparse
import os
import sys

from gen.data import sources


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(
      prog='python -m gen.data.prepare', description=__doc__.splitlines()[0]
  )
  parser.add_argument('name', help='TFDS dataset name, e.g. mnist or fashion_mnist')
  parser.add_argument(
      '--manual_dir',
      required=True,
      help='folder holding the original files under their original names',
  )
  parser.add_argument(
      '--data_dir',
      default=sources.tfds_data_dir(sources.resolve_data_dir(None)),
      help=f'TFDS data dir to write (default: ${sources.ENV_VAR}/tfds, else the TFDS default)',
  )
  args = parser.parse_args(argv)
  if not os.path.isdir(args.manual_dir):
    parser.error(f'--manual_dir {args.manual_dir} is not a folder')
  return args


def require_tensorflow() -> None:
  try:
    import tensorflow  # noqa: F401  (TFDS imports it lazily; fail early and clearly)
  except ImportError:
    sys.exit(
        'gen.data.prepare needs TensorFlow to build TFDS datasets: '
        'pip install -r requirements-prepare.txt (reading the result does not need it).'
    )


def prepare(name: str, manual_dir: str, data_dir: str | None) -> str:
  """Builds ``name`` as array_record under ``data_dir``; returns the dataset's folder."""
  import tensorflow_datasets as tfds

  builder = tfds.builder(name, data_dir=data_dir)
  builder.download_and_prepare(
      file_format='array_record',
      download_config=tfds.download.DownloadConfig(manual_dir=manual_dir, try_download_gcs=False),
  )
  return str(builder.data_dir)


def main(argv: list[str] | None = None) -> None:
  args = parse_args(argv)
  require_tensorflow()
  path = prepare(args.name, args.manual_dir, args.data_dir)
  print(f'prepared {args.name} in {path}; load it as tfds:{args.name}')


if __name__ == '__main__':
  main()
