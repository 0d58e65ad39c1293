"""``grader init DIR``: a commented starter assignment and roster for a new course."""

from __future__ import annotations

from pathlib import Path

import click

from grader.core.errors import UserError
from grader.core.fileio import atomic_write_text

STARTER_ASSIGNMENT = """\
# A backpropagation assignment.  Every student gets a personal variant of each exercise:
# parameters written under `params` are the same for everybody (fixed); parameters left
# out are drawn per student from the course secret (randomized), and only "nice"
# instances are kept (small denominators, no saturated sigmoid, no dead layer).
#
# Numbers may be written 5, 0.5 or "1/2".  Check the file with:  grader schema assignment.yaml

id: backprop-hw1            # letters, digits, '.', '_', '-'; appears in every submission
title: Backpropagation      # printed on the sheets
course: Machine Learning    # printed in the sheet header (optional)
language: en                # en or ru: the words of sheets and keys
secret_env: GRADER_SECRET   # the environment variable holding the course secret;
                            # keep the secret out of the repository (a CI secret, a password manager)
# due: "Friday, 12 December"  # optional, printed on the sheets

exercises:
  # 1. Chain rule on a computational graph: node values, adjoints ∂f/∂node, and the
  #    partial derivatives as formulas and values at a point.
  - id: chain
    type: chain_rule
    points: 6
    params: {}              # graph and point randomized; fix them like this for everybody:
    #  nodes:               # f(x, y) = x² + xy + (x + y)², the worksheet's graph
    #    - {name: a, op: square, args: [x]}
    #    - {name: b, op: mul, args: [x, y]}
    #    - {name: c, op: add, args: [x, y]}
    #    - {name: d, op: add, args: [a, b]}
    #    - {name: e, op: square, args: [c]}
    #    - {name: f, op: add, args: [d, e]}
    #  point: {x: 1, y: 2}

  # 2. A small network in matrix form: forward pass, backward pass, one GD step.
  - id: mlp
    type: mlp_matrix
    points: 8
    params:
      activation: relu      # sigmoid, tanh, relu, identity, hard_sigmoid, softsign
      # x, y, weights and learning_rate are randomized unless given here

  # 3. SGD steps by hand on a chain of neurons (the worksheet's main exercise).
  - id: sgd
    type: sgd_chain
    points: 10
    params:
      depth: 3              # neurons in the chain, 2-4
      activation: sigmoid
      loss: mse             # mse = (y - o)^2, half_mse = (y - o)^2 / 2
      rounding: {mode: transcendental, decimals: 4}
      # mode: exact (fractions only), transcendental (round σ/tanh values to `decimals`),
      #       all (round every value written down to `decimals`)
      # Randomized unless given: data ([[x, y], ...]), order (observation numbers, one
      # per SGD step), learning_rate, init ("zeros" or [[biases], [weights]]).
      # The worksheet's canonical instance fixes them all:
      # data: [[5, 0], [1, 1]]
      # order: [2, 1]
      # learning_rate: 5
      # init: zeros

    # Tolerance (optional, per exercise): the default rule accepts exactly the answers a
    # correct computation can produce with the instructed rounding.  Alternatives:
    # tolerance: {rule: absolute, value: 0.001}   # or exact, relative, decimals, significant
    # carried_forward_credit: 1                    # share of points for work that is right
    #                                              # given the student's own earlier answers

  # 4. A softmax classifier (uncomment to use): logits, softmax probabilities, the
  #    cross-entropy loss, δ = p − onehot(y), gradients and SGD steps.
  # - id: softmax
  #   type: softmax_classifier
  #   points: 10
  #   params:
  #     classes: 3          # K, 2-5
  #     hidden: []          # [] = softmax regression; [2] = one hidden layer of 2 units
  #     order: [1, 2]       # the observation of each SGD step
  #     rounding: {mode: transcendental, decimals: 4}   # each p_i and the loss rounded
  #     # Randomized unless given: x (rows), labels (1-based classes), weights, biases
  #     # (or init: zeros), learning_rate.
"""

STARTER_ROSTER = """\
id,name,email
s001,Ada Lovelace,ada@example.org
s002,Иван Петров,ivan@example.org
s003,Zoë Martin,zoe@example.org
"""


def init_command(directory: str) -> int:
    target = Path(directory)
    files = {target / "assignment.yaml": STARTER_ASSIGNMENT, target / "roster.csv": STARTER_ROSTER}
    existing = [str(p) for p in files if p.exists()]
    if existing:
        raise UserError(f"will not overwrite {', '.join(existing)}; choose an empty directory")
    for path, text in files.items():
        atomic_write_text(path, text)
    q = str(target)
    click.echo(
        f"""Wrote {q}/assignment.yaml and {q}/roster.csv.  Next:

  export GRADER_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"   # keep it safe
  grader generate {q}/assignment.yaml --roster {q}/roster.csv --out {q}/build
  # hand out build/sheets/<id>.pdf and build/templates/<id>.json; students fill in the template
  grader grade {q}/assignment.yaml submissions/ --roster {q}/roster.csv --out {q}/graded
  grader check {q}/assignment.yaml {q}/build      # in your course's CI, on every push"""
    )
    return 0
