"""compare_gan's own trial lists, for the golden values of test_lucic_plan.py.

Runs `GetTasks` of compare_gan's src/generate_tasks_lib.py (cg@49495fd, the code of
Lucic et al. 2018) under Python 2.7, as it was written for, with TensorFlow and
protobuf stubbed out (GetTasks needs neither for phases 1 and 2), and prints
{experiment: [task dict]} as JSON. Not a test (pytest does not collect it):

  git -C compare_gan archive 49495fd compare_gan | tar -x -C /tmp/cg
  python2.7 tests/study/lucic_reference_py2.py /tmp/cg \
      phase1_gan8_mnist_sample100_rep1 phase2_gan8_mnist_sample50_rep1 > ref.json

Run with Python 2.7.18 on 2026-12 for the hashes in test_lucic_plan.py.
"""

import json
import sys
import types


class _Flags(object):

  FLAGS = None

  def DEFINE_string(self, *args, **kwargs):
    pass


def _stub_imports():
  tf = types.ModuleType('tensorflow')
  tf.flags, tf.logging = _Flags(), None
  sys.modules['tensorflow'] = tf
  for name in (
      'google',
      'google.protobuf',
      'google.protobuf.text_format',
      'compare_gan.src.simple_task_pb2',
      'compare_gan.src.task_utils',
  ):
    sys.modules[name] = types.ModuleType(name)
  sys.modules['google.protobuf'].text_format = sys.modules['google.protobuf.text_format']
  import compare_gan.src  # noqa: PLC0415

  compare_gan.src.simple_task_pb2 = sys.modules['compare_gan.src.simple_task_pb2']
  compare_gan.src.task_utils = sys.modules['compare_gan.src.task_utils']


def main(argv):
  sys.path.insert(0, argv[1])
  _stub_imports()
  from compare_gan.src import generate_tasks_lib  # noqa: PLC0415

  out = dict((e, [dict(t) for t in generate_tasks_lib.GetTasks(e)]) for e in argv[2:])
  json.dump(out, sys.stdout, sort_keys=True)


if __name__ == '__main__':
  main(sys.argv)
