"""Single-point mutants of a worked solution: what a student might get wrong in one place.

    mutants(source) -> [Mutant]

Only the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is mutated (what the student
writes). Each mutant changes one node of the syntax tree, by one of these operators:

    comparison      <  <=  >  >=  ==  !=  is  in: the boundary moved (< and <=), or negated
    arithmetic      + and -, * and /, // for /, @ for * (a product of the wrong kind)
    sign            -x becomes x
    constant        a number n becomes n + 1 (and n - 1 for an integer): off by one, indices and
                    axes too; True and False swapped
    index           x[i] becomes x[i + 1] and x[i - 1] (i not a number: those are constants)
    reduction axis  axis= or dim= left out (a reduction over everything)
    argument swap   the first two positional arguments of a call exchanged
    sqrt, square    sqrt(x) becomes x; x ** 2 and x ** 0.5 become x

The mutant's text is the solution's with only the mutated node's text replaced, so that its diff
is one line.
"""
from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

COMPARISONS = {ast.Lt: [ast.LtE, ast.GtE], ast.LtE: [ast.Lt, ast.Gt], ast.Gt: [ast.GtE, ast.LtE],
               ast.GtE: [ast.Gt, ast.Lt], ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq], ast.Is: [ast.IsNot],
               ast.IsNot: [ast.Is], ast.In: [ast.NotIn], ast.NotIn: [ast.In]}
ARITHMETIC = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div], ast.Div: [ast.Mult],
              ast.FloorDiv: [ast.Div], ast.MatMult: [ast.Mult]}
AXIS_KEYWORDS = ("axis", "dim")
SQRT_NAMES = ("sqrt",)


@dataclass(frozen=True)
class Mutant:
    operator: str  # one of the operators above
    line: int  # in the solution file, 1-based
    before: str  # the text of the node in the solution
    after: str  # its text in the mutant
    source: str  # the whole mutant file

    @property
    def diff(self) -> str:
        return f"line {self.line}: {self.before}  ->  {self.after}"


def solution_lines(source: str) -> set[int]:
    """The line numbers (1-based) between the solution markers."""
    inside, lines = False, set()
    for number, line in enumerate(source.splitlines(), start=1):
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside:
            lines.add(number)
    return lines


def _is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _variants(node: ast.AST):
    """(operator, replacement node) for each mutation of ``node`` itself."""
    if isinstance(node, ast.Compare):
        for index, op in enumerate(node.ops):
            for other in COMPARISONS.get(type(op), []):
                changed = copy.deepcopy(node)
                changed.ops[index] = other()
                yield "comparison", changed
    elif isinstance(node, ast.BinOp):
        for other in ARITHMETIC.get(type(node.op), []):
            changed = copy.deepcopy(node)
            changed.op = other()
            yield "arithmetic", changed
        if isinstance(node.op, ast.Pow) and isinstance(node.right, ast.Constant) and node.right.value in (2, 0.5):
            yield "sqrt, square", node.left
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield "sign", node.operand
        if _is_number(node.operand):  # -n is a constant too: -n + 1 and -n - 1
            yield "constant", ast.Constant(-node.operand.value + 1)
            if type(node.operand.value) is int:
                yield "constant", ast.Constant(-node.operand.value - 1)
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        yield "constant", ast.Constant(not node.value)
    elif _is_number(node):
        yield "constant", ast.Constant(node.value + 1)
        if type(node.value) is int:
            yield "constant", ast.Constant(node.value - 1)
    elif isinstance(node, ast.Subscript) and not isinstance(node.slice, (ast.Constant, ast.Slice, ast.Tuple)) \
            and not (isinstance(node.slice, ast.UnaryOp) and _is_number(node.slice.operand)):
        for op in (ast.Add, ast.Sub):
            changed = copy.deepcopy(node)
            changed.slice = ast.BinOp(node.slice, op(), ast.Constant(1))
            yield "index", changed
    elif isinstance(node, ast.Call):
        for index, keyword in enumerate(node.keywords):
            if keyword.arg in AXIS_KEYWORDS:
                changed = copy.deepcopy(node)
                del changed.keywords[index]
                yield "reduction axis", changed
        if len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
            changed = copy.deepcopy(node)
            changed.args[0], changed.args[1] = node.args[1], node.args[0]
            yield "argument swap", changed
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name in SQRT_NAMES:
            if len(node.args) == 1 and not node.keywords:
                yield "sqrt, square", node.args[0]  # np.sqrt(x), math.sqrt(x)
            elif not node.args and isinstance(node.func, ast.Attribute):
                yield "sqrt, square", node.func.value  # x.sqrt()


def free_choice_lines(source: str) -> set[int]:
    """The lines of the statements that a ``# free choice: <why>`` comment line stands directly above.

    Such a statement holds values the task lets the student pick (a trainer's settings that only have
    to reach an outcome the tests judge): a mutant there that keeps full marks is another right
    choice, so it counts as equivalent, and is listed as such."""
    comments = {number for number, line in enumerate(source.splitlines(), start=1)
                if line.strip().startswith("# free choice:")}
    return {line for node in ast.walk(ast.parse(source)) if isinstance(node, ast.stmt)
            and node.lineno - 1 in comments for line in range(node.lineno, node.end_lineno + 1)}


def _replace(source_lines: list[str], node: ast.AST, text: str) -> str:
    """The source with the text of ``node`` replaced by ``text``."""
    start, end = node.lineno - 1, node.end_lineno - 1
    first, last = source_lines[start], source_lines[end]
    head = first.encode()[:node.col_offset].decode()
    tail = last.encode()[node.end_col_offset:].decode()
    return "".join(source_lines[:start] + [head + text + tail] + source_lines[end + 1:])


def mutants(source: str) -> list[Mutant]:
    """Every single-point mutant of the solution blocks of ``source``, in the order of the file."""
    inside = solution_lines(source)
    lines = source.splitlines(keepends=True)
    found, seen = [], {source}
    tree = ast.parse(source)
    negated = {id(n.operand) for n in ast.walk(tree) if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub)}
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) not in inside or getattr(node, "end_lineno", None) not in inside:
            continue
        if id(node) in negated and _is_number(node):  # mutated as the negative constant it is part of
            continue
        before = ast.get_source_segment(source, node)
        for operator, changed in _variants(node):
            after = ast.unparse(changed)
            if after == before:
                continue
            text = _replace(lines, node, f"({after})" if _needs_brackets(node, changed) else after)
            try:
                ast.parse(text)
            except SyntaxError:
                continue
            if text not in seen:
                seen.add(text)
                found.append(Mutant(operator, node.lineno, before, after, text))
    return sorted(found, key=lambda m: (m.line, m.operator, m.after))


def _needs_brackets(node: ast.AST, changed: ast.AST) -> bool:
    """Whether the replacement needs brackets to keep its place in the expression around it
    (an operand left alone, as in sqrt(a + b) becoming a + b inside a product)."""
    return isinstance(changed, (ast.BinOp, ast.BoolOp, ast.Compare, ast.UnaryOp, ast.IfExp, ast.Lambda)) \
        and not isinstance(node, type(changed))
