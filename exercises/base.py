"""What every exercise family provides, and the solution format they share.

A :class:`Solution` is an ordered list of :class:`Computation` s.  Each computation
produces one or more answer leaves (addressed by JSON Pointers into the submission)
from earlier leaves, by calling the engine.  The key is the computation run on the
key's own values; error carried forward is the same computation run on a student's
earlier answers; a diagnosis is the same computation run with one
:class:`~grader.core.engine.Rules` convention changed.  So a new exercise family gets
grading, carried-forward credit and diagnosis by describing its computations.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel

from grader.core.engine import Ops, Rounding, Rules
from grader.core.errors import pointer_from_loc
from grader.core.given import GivenData

# A field label's words: its key in the ``labels:`` section of the family's words.yaml (en,
# ru) and the arguments its text is formatted with, e.g. ("o_of_step", (("l", 1), ("n", 2))).
LabelWords = tuple[str, tuple[tuple[str, Any], ...]]


def label_words(key: str, **args: Any) -> LabelWords:
    """The words of a label: ``label_words("o_of_step", l=1, n=2)``."""
    return key, tuple(sorted(args.items()))


# compute(values, ops, rules) -> one value per output pointer.  ``values`` maps the
# pointers listed in ``inputs`` to numbers of the ops' number type.
ComputeFn = Callable[[Mapping[str, Any], Ops, Rules], Sequence[Any]]

# Names of the mistakes of the catalogue a computation can be replayed under
# (records of grader.grade.mistake_catalogue, which tests/test_mistake_catalogue.py holds to
# this list); the grader only tries those a computation declares.
MistakeId = Literal[
    "sign_flip",
    "learning_rate",
    "missing_factor_2",
    "missing_activation_derivative",
    "wrong_activation_derivative",
    "gradient_ascent",
    "wrong_observation",
    "missing_path",
    "transposed",
    "unnormalized_softmax",
    "wrong_class",
    "log_base_10",
    "missing_bias_gradient",
]


@dataclass(frozen=True)
class Computation:
    """One step of a solution: ``outputs`` (leaf pointers) computed from ``inputs``."""

    label: str  # human words for reports, e.g. "δ₃ of step 2"
    outputs: tuple[str, ...]
    inputs: tuple[str, ...]
    compute: ComputeFn
    mistakes: tuple[MistakeId, ...] = ()  # which catalogue mistakes can show up here
    kind: Literal["number", "formula"] = "number"
    # The answer is copied from the problem statement (sgd_chain's x): a wrong one that no
    # catalogue mistake explains means another problem was solved (a classmate's data,
    # say), so nothing built on it earns carried-forward credit.
    given: bool = False
    # A formula field: the quantity it asks for, as an optional left-hand side names it
    # (see grader.grade.lhs): ("partial", "f", "x") for ∂f/∂x, ("output",) for ŷ.
    quantity: tuple[str, ...] | None = None
    # The label in the family's words (templates/<type>/words.yaml, ``labels:``), so that a
    # report says it in the assignment's language; None: ``label`` in every language.
    words: LabelWords | None = None


@dataclass
class Solution:
    """The worked solution of one exercise variant.

    ``values`` holds every leaf (Fraction, or a sympy expression for formula leaves, which
    a solution made with ``formulas=False`` leaves out: their texts are in ``answers``);
    ``answers`` is the submission layout (nested dicts/lists of leaf values);
    ``rounded`` lists the leaves whose key value was rounded (a rounded input may be
    anything that rounds to it); ``trace`` is whatever the templates need to show
    the derivation.
    """

    computations: list[Computation]
    values: dict[str, Any]
    answers: dict[str, Any]
    rounded: frozenset[str] = frozenset()
    decimals: int = 4
    trace: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def leaves(self) -> list[str]:
        return [p for c in self.computations for p in c.outputs]


@dataclass(frozen=True)
class MistakeContext:
    """What the mistake catalogue needs to know about a variant (see grader.grade.mistakes):
    the learning rate a ``learning_rate`` slip replaces, the observations a
    ``wrong_observation`` slip swaps in, the loss and the activation."""

    learning_rate: Fraction | None = None
    observations: tuple[tuple[Any, ...], ...] = ()
    loss: str | None = None
    activation: str | None = None
    classes: int = 0  # softmax output: the classes a ``wrong_class`` slip may pick


class Exercise(abc.ABC):
    """An exercise family: every hook the core calls, and nothing it looks up by name.

    Abstract methods are what a family must answer; the others have a default that fits a
    family without that feature.  The core reaches a family through the registry
    (:func:`grader.exercises.get_exercise`) or a variant's ``family``, and then only
    through these methods and class attributes.
    """

    type_name: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    title: ClassVar[dict[str, str]]  # per language
    # Parameters the variant search draws per student when the assignment does not fix them.
    randomized: ClassVar[tuple[str, ...]] = ()

    # ---------------------------------------------------------------- the variant search

    @abc.abstractmethod
    def sample(self, rng: random.Random, fixed: Mapping[str, Any]) -> BaseModel:
        """Draw one candidate variant; parameters in ``fixed`` are kept as given."""

    def draw(self, rng: random.Random, fixed: Mapping[str, Any]) -> dict[str, Any] | None:
        """The values :meth:`sample` would validate, drawn without validating them, so that
        :meth:`screen` can reject a candidate before validation costs anything.  None (the
        default, and then nothing is drawn): the search calls :meth:`sample` instead."""
        return None

    def screen(self, params: BaseModel, fixed: Mapping[str, Any]) -> Screened:
        """A cheap first look that rejects only what :meth:`is_nice` would reject, before
        :meth:`solve` does the costly part; an accepted candidate's :class:`Screened` may
        carry the work done on the way, which the search hands to :meth:`solve`.
        Default: accept."""
        return ACCEPTED

    def reads_well(self, params: BaseModel) -> bool:
        """Version 2 of the variant search (see grader.course.variants) also asks this of a
        screened candidate: whether the problem reads as a textbook would print it (no
        double negation, no node that cancels out).  Default: yes."""
        return True

    def is_nice(self, params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
        """Whether a sampled variant is good enough to hand to a student."""
        return True

    # ---------------------------------------------------------------- the solution

    @abc.abstractmethod
    def solve(
        self,
        params: BaseModel,
        exercise_id: str,
        *,
        formulas: bool = True,
        screened: Screened | None = None,
    ) -> Solution:
        """The full worked solution; leaves live under ``/answers/<exercise_id>``.

        ``formulas=False``: without the formula leaves' sympy expressions in ``values``
        (grading needs them, sheets and keys only their texts; sympy's arithmetic is
        most of the cost of a variant).  ``screened``: what :meth:`screen` said of these
        very parameters (its work is reused), or None."""

    def fields(self, params: BaseModel, exercise_id: str) -> list[Computation]:
        """The answer fields as :meth:`solve` lists them in its solution's ``computations``,
        made from the parameters alone (nothing computed, no value of the key): what the
        answer page labels its fields with when the family has no page layout of its own.
        Default: none known (the page labels such fields by their pointers)."""
        return []

    @abc.abstractmethod
    def check_independently(self, params: BaseModel, answers: Any) -> list[str]:
        """Recompute the key by a method that shares no code with :meth:`solve`
        (float64, sympy …) and list every disagreement with ``answers``."""

    # ---------------------------------------------------------------- what grading asks

    def rounding(self, params: BaseModel) -> Rounding | None:
        """The variant's rounding rule; None when the family has no rounding parameter
        (then non-rational values round at the solution's decimals)."""
        return None

    def mistake_context(self, params: BaseModel) -> MistakeContext:
        """The facts of a variant the mistake catalogue replays mistakes with."""
        return MistakeContext()

    def formula_variables(self, params: BaseModel) -> tuple[str, ...]:
        """Variables a correct formula answer may use beyond those left in the key's
        simplified formula (∂f/∂x = −y may have lost x).  Default: none."""
        return ()

    # ---------------------------------------------------------------- formats

    @abc.abstractmethod
    def template_answers(self, params: BaseModel) -> Any:
        """The submission layout with nulls (the student's answer template)."""

    @abc.abstractmethod
    def json_schema(self, params: BaseModel | None) -> dict[str, Any]:
        """JSON Schema of this exercise's part of a submission."""

    @abc.abstractmethod
    def describe_text(self, params: BaseModel, solution: Solution) -> str:
        """A readable step-by-step key for the terminal (``grader solve``)."""

    def field_label(self, computation: Computation, language: str) -> str:
        """A computation's label in ``language``: its words from the ``labels:`` section of
        the family's ``words.yaml``, else the label it carries."""
        if computation.words is None:
            return computation.label
        key, args = computation.words
        return str(self.words(language)["labels"][key]).format(**dict(args))

    def words(self, language: str) -> dict[str, Any]:
        """The family's ``words.yaml`` in ``language``."""
        # read once per language (the family lives as long as the process)
        tables: dict[str, dict[str, Any]] = self.__dict__.setdefault("_words", {})
        if language not in tables:
            tables[language] = family_words(self.template_folder(), language)
        return tables[language]

    def given_data(self, params: BaseModel, language: str) -> GivenData:
        """What the student's sheet gives for this variant (its numbers, definitions and
        rules) as plain text in ``language``, which the answer page shows above the
        exercise's fields: made from the parameters alone, never from a solution (words:
        the ``given_data:`` section of the family's ``words.yaml`` and
        :func:`grader.core.given.given_words`).  Default: nothing (the sheet still shows it)."""
        return GivenData()

    def template_folder(self) -> Traversable:
        """Where the family's ``sheet.tex.j2``, ``key.tex.j2`` and ``words.yaml`` live
        (default: ``templates/<type_name>/`` of this package)."""
        return resources.files("grader.templates").joinpath(self.type_name)

    @abc.abstractmethod
    def latex_view(self, params: BaseModel, solution: Solution, language: str) -> dict[str, Any]:
        """What the family's sheet and key templates print (LaTeX pieces, see
        ``templates/<type>/{sheet,key}.tex.j2``)."""


def family_words(folder: Traversable, language: str) -> dict[str, Any]:
    """A family's ``words.yaml`` (in ``folder``) in ``language``."""
    words = yaml.safe_load(folder.joinpath("words.yaml").read_text("utf-8"))
    return dict(words[language])


def pointer(*parts: str | int) -> str:
    """A JSON Pointer (RFC 6901) from parts, escaping ``~`` and ``/``."""
    return pointer_from_loc(parts)


@dataclass(frozen=True)
class Screened:
    """An exercise's ``screen`` verdict on one candidate, and the work it did on the way.

    The variant search solves an accepted candidate next and hands this value to ``solve``
    (``screened=``), so that what the screen computed (a training trace, say) is not
    computed twice; it goes with the very parameters it was made from, never through a
    module global.  Falsy when the candidate is refused.
    """

    accepted: bool
    work: Any = None

    def __bool__(self) -> bool:
        return self.accepted


ACCEPTED = Screened(True)
REFUSED = Screened(False)
