// The answer page's logic: a live check of every field with the grader's own grammar,
// a draft in localStorage, "Load file" and "Download submission".
//
// parseNumber mirrors grader/core/numbers.py:parse_number and checkFormula mirrors the
// tokenizer and the syntax of grader/grade/formulas.py:parse_formula (not its semantic
// checks: division by zero, degree and size limits, exponent ranges are left to the
// grader).  tests/data/grammar_corpus.json and tests/test_answer_page.py keep them in
// agreement: same verdict, same value, same kind of error, same position.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("page-data").textContent);
  const G = DATA.grammar;
  const WHITESPACE = new Set(Array.from(G.whitespace));

  // ------------------------------------------------------------ exact fractions

  function gcd(a, b) {
    if (a < 0n) a = -a;
    if (b < 0n) b = -b;
    while (b) [a, b] = [b, a % b];
    return a;
  }
  function frac(n, d) {
    if (d < 0n) [n, d] = [-n, -d];
    const g = gcd(n, d) || 1n;
    return { n: n / g, d: d / g };
  }
  function fracText(f) {
    return f.d === 1n ? f.n.toString() : f.n.toString() + "/" + f.d.toString();
  }

  class GrammarError extends Error {
    constructor(kind, position) {
      super(kind);
      this.kind = kind;
      this.position = position;
    }
  }

  // Python counts code points: one UTF-16 unit per code point keeps positions equal
  // (a character outside the BMP is never valid here, whichever it is).
  function units(text) {
    return Array.from(text, (c) => (c.length > 1 ? "\uFFFF" : c)).join("");
  }
  function lstripLength(s, set) {
    let i = 0;
    while (i < s.length && set.has(s[i])) i++;
    return i;
  }
  function strip(s, set) {
    let a = lstripLength(s, set);
    let b = s.length;
    while (b > a && set.has(s[b - 1])) b--;
    return s.slice(a, b);
  }
  const DOLLAR = new Set(["$"]);

  // ------------------------------------------------------------ numbers

  const DEC = "(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?";
  const PLAIN = new RegExp("^([+-]?" + DEC + ")(?:/([+-]?" + DEC + "))?$", "d");
  const SP = "[ \\t\\n\\r\\f\\v]*";
  const ARG = "(?:\\{" + SP + "([^{}]*)" + SP + "\\}|([0-9]))";
  const TEX = new RegExp("^([+-]?)\\\\[dt]?frac" + SP + ARG + SP + ARG + "$", "d");
  const PARTS = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/;

  function parseDecimal(s, offset) {
    const m = PARTS.exec(s);
    const sign = m[1], whole = m[2] || "", fraction = m[3] || "", exp = m[4];
    const digits = (whole + fraction).replace(/^0+/, "");
    if (digits.length > G.maxDigits) throw new GrammarError("digits", offset);
    let e = 0;
    if (exp !== undefined) {
      const expDigits = exp.replace(/^[+-]+/, "").replace(/^0+/, "");
      const value = parseInt(exp, 10);
      if (expDigits.length > 4 || value > G.maxExponent || value < -G.maxExponent) {
        throw new GrammarError("exponent", offset);
      }
      e = value;
    }
    let n = BigInt(whole + fraction || "0");
    let d = 1n;
    const shift = e - fraction.length;
    if (shift >= 0) n *= 10n ** BigInt(shift);
    else d = 10n ** BigInt(-shift);
    const f = frac(n, d);
    return sign === "-" ? { n: -f.n, d: f.d } : f;
  }

  function firstBad(s) {
    for (let i = s.length; i > 0; i--) {
      if (PLAIN.test(s.slice(0, i)) || PLAIN.test(s.slice(0, i) + "0")) {
        return Math.min(i, s.length - 1);
      }
    }
    return 0;
  }

  function commaAsPoint(s, lead) {
    const at = s.indexOf(",");
    const second = s.indexOf(",", at + 1);
    if (second >= 0) throw new GrammarError("comma", lead + second);
    if (s.includes(".")) throw new GrammarError("comma", lead + at);
    const digit = (c) => c !== undefined && c >= "0" && c <= "9";
    if (!(at > 0 && at < s.length - 1 && digit(s[at - 1]) && digit(s[at + 1]))) {
      throw new GrammarError("comma", lead + at);
    }
    return s.slice(0, at) + "." + s.slice(at + 1);
  }

  function parseTex(s, lead) {
    const m = TEX.exec(s);
    if (!m) throw new GrammarError("tex", lead);
    const numGroup = m[2] !== undefined ? 2 : 3;
    const denGroup = m[4] !== undefined ? 4 : 5;
    const ascii = new Set(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f");
    const numText = strip(m[numGroup], ascii);
    const denText = strip(m[denGroup], ascii);
    if (!PLAIN.test(numText) || numText.includes("/")) {
      throw new GrammarError("tex", lead + m.indices[numGroup][0]);
    }
    if (!PLAIN.test(denText) || denText.includes("/")) {
      throw new GrammarError("tex", lead + m.indices[denGroup][0]);
    }
    const den = parseDecimal(denText, lead);
    if (den.n === 0n) throw new GrammarError("zero_division", lead);
    const num = parseDecimal(numText, lead);
    const q = frac(num.n * den.d, num.d * den.n);
    return m[1] === "-" ? { n: -q.n, d: q.d } : q;
  }

  function parseNumberOrThrow(text) {
    const t = units(text);
    if (t.length > G.maxNumberChars) throw new GrammarError("too_long", 0);
    let lead = lstripLength(t, WHITESPACE);
    let s = strip(t, WHITESPACE).replace(/\u2212/g, "-").replace(/\u2044/g, "/");
    if (s.startsWith("$") && s.endsWith("$") && s.length >= 2) {
      const inner = strip(s, DOLLAR);
      lead += lstripLength(s, DOLLAR) + lstripLength(inner, WHITESPACE);
      s = strip(inner, WHITESPACE);
    }
    if (!s) throw new GrammarError("empty", 0);
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) > 127) throw new GrammarError("non_ascii", lead + i);
    }
    if (s.includes(",")) s = commaAsPoint(s, lead);
    if (s.includes("\\")) return parseTex(s, lead);
    const m = PLAIN.exec(s);
    if (!m) throw new GrammarError("syntax", lead + firstBad(s));
    const num = parseDecimal(m[1], lead);
    if (m[2] === undefined) return num;
    const at = lead + m.indices[2][0];
    const den = parseDecimal(m[2], at);
    if (den.n === 0n) throw new GrammarError("zero_division", at);
    return frac(num.n * den.d, num.d * den.n);
  }

  function parseNumber(text) {
    try {
      return { ok: true, value: fracText(parseNumberOrThrow(text)) };
    } catch (e) {
      if (!(e instanceof GrammarError)) throw e;
      return { ok: false, kind: e.kind, position: e.position };
    }
  }

  // ------------------------------------------------------------ formulas

  const F_SPACE = new Set(Array.from(" \t\r\n\u00a0\u2009\u202f$"));
  const F_NUMBER = /(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/y;
  const F_IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
  const F_TEX = /\\(?:([A-Za-z]+)|([\s\S]?))/y;
  const OPERATORS = {
    "+": "+", "-": "-", "\u2212": "-", "*": "*", "\u00b7": "*", "\u22c5": "*",
    "\u2219": "*", "\u00d7": "*", "/": "/", "\u00f7": "/", "^": "^",
  };
  const CLOSER = { "(": ")", "[": "]", "{": "}" };
  const SUPERSCRIPTS = { "⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5",
    "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9", "⁻": "-" };
  const TEX_OPERATORS = { cdot: "*", times: "*", div: "/" };
  const TEX_FUNCTIONS = { exp: "exp", log: "log", ln: "log", tanh: "tanh", sigma: "sigma",
    sqrt: "sqrt" };
  const TEX_FRACS = new Set(["frac", "dfrac", "tfrac"]);
  const TEX_SPACES = new Set([",", ";", ":", "!", " "]);

  function tokenize(t, names) {
    const tokens = [];
    let i = 0;
    const emit = (kind, text, pos, width) => {
      if (tokens.length >= G.formulaMaxTokens) throw new GrammarError("too_many", pos);
      tokens.push({ kind, text, pos });
      i = pos + width;
    };
    const functionName = (name, pos, width) => {
      if (!names.functions.includes(name)) throw new GrammarError("function", pos);
      emit("func", name, pos, width);
    };
    const match = (re) => {
      re.lastIndex = i;
      return re.exec(t);
    };
    while (i < t.length) {
      const ch = t[i];
      let m;
      if (F_SPACE.has(ch)) {
        i++;
      } else if ((m = match(F_NUMBER))) {
        const literal = m[0];
        const mantissa = literal.split(/[eE]/)[0].replace(".", "").replace(/^0+/, "");
        if (mantissa.length > G.formulaMaxNumberDigits) throw new GrammarError("number", i);
        const read = parseNumber(literal);
        if (!read.ok) throw new GrammarError("number", i);
        emit("num", literal, i, literal.length);
      } else if ((m = match(F_IDENT))) {
        const start = i, run = m[0];
        let j = 0;
        while (j < run.length) {
          let name = null;
          for (let size = Math.min(names.longest, run.length - j); size > 0; size--) {
            if (Object.prototype.hasOwnProperty.call(names.table, run.slice(j, j + size))) {
              name = run.slice(j, j + size);
              break;
            }
          }
          if (name === null) {
            const isDigit = run[j] >= "0" && run[j] <= "9";
            throw new GrammarError("name", isDigit ? start : start + j);
          }
          const [kind, canonical] = names.table[name];
          if (kind === "func") functionName(canonical, start + j, name.length);
          else emit(kind, canonical, start + j, name.length);
          j += name.length;
        }
        i = start + run.length;
      } else if ((m = match(F_TEX))) {
        const start = i, command = m[1] || m[2] || "", end = i + m[0].length;
        if (TEX_SPACES.has(command)) {
          i = end;
        } else if (command in TEX_OPERATORS) {
          emit("op", TEX_OPERATORS[command], start, end - start);
        } else if (TEX_FRACS.has(command)) {
          emit("frac", "frac", start, end - start);
        } else if (command === "sqrt" && t.slice(end).replace(/^[ \t]+/, "").startsWith("[")) {
          throw new GrammarError("latex", start);
        } else if (Object.prototype.hasOwnProperty.call(TEX_FUNCTIONS, command)) {
          functionName(TEX_FUNCTIONS[command], start, end - start);
        } else if (command === "left" || command === "right") {
          let e = end;
          while (e < t.length && (t[e] === " " || t[e] === "\t")) e++;
          const bracket = t.slice(e, e + 1);
          const wanted = command === "left" ? "([" : ")]";
          if (!bracket || !wanted.includes(bracket)) throw new GrammarError("latex", start);
          emit(command === "left" ? "open" : "close", bracket, start, e + 1 - start);
        } else {
          throw new GrammarError("latex", start);
        }
      } else if (ch === "*" && t.startsWith("**", i)) {
        emit("op", "^", i, 2);
      } else if (Object.prototype.hasOwnProperty.call(OPERATORS, ch)) {
        emit("op", OPERATORS[ch], i, 1);
      } else if (ch in CLOSER) {
        emit("open", ch, i, 1);
      } else if (ch === ")" || ch === "]" || ch === "}") {
        emit("close", ch, i, 1);
      } else if (Object.prototype.hasOwnProperty.call(SUPERSCRIPTS, ch)) {
        const start = i;
        let j = i;
        while (j < t.length && Object.prototype.hasOwnProperty.call(SUPERSCRIPTS, t[j])) j++;
        const digits = Array.from(t.slice(start, j), (c) => SUPERSCRIPTS[c]).join("");
        if (!/^-?[0-9]{1,3}$/.test(digits)) throw new GrammarError("superscript", start);
        emit("sup", digits, start, j - start);
      } else if (ch === "σ") { // sigma, or the sheet's f when f is σ (an alias)
        functionName(names.table["σ"] ? names.table["σ"][1] : "sigma", i, 1);
      } else {
        throw new GrammarError("character", i);
      }
    }
    tokens.push({ kind: "end", text: "", pos: t.length });
    return tokens;
  }

  // The parser says whether the formula is well formed, and does the checks of the
  // grader that need only the plain numbers of a formula (folded exactly, as the grader
  // folds them): exponents must be numbers in range, no division by a zero number, no
  // log of a non-positive number, no root of a negative one, no number over 4096 bits.
  // ``value`` is a known constant (or null), ``e`` whether it is Euler's number.
  const MAX_POWER = 10n, MAX_BITS = 4096, MAX_ROOT_BITS = 64;
  const bitLength = (x) => (x === 0n ? 0 : (x < 0n ? -x : x).toString(2).length);
  const bits = (f) => bitLength(f.n) + bitLength(f.d);
  const ZERO = { n: 0n, d: 1n };
  const known = (value) => ({ value, e: false });
  const unknown = { value: null, e: false };

  // The echo of the reading, as grader/grade/formula_echo.py builds it from the same
  // grammar: the formula as written, every product "·", brackets where the grouping is not
  // plain ("1/2x" → "(1/2)·x", "x/yz" → "(x/y)·z", "-x^2" → "-(x^2)").
  const wrap = (node, bare) => (bare.includes(node.kind) ? node.text : "(" + node.text + ")");
  const TERM = ["atom", "pow", "prod", "quot"], LEFT_FACTOR = ["atom", "pow", "prod", "neg"];
  const RIGHT_FACTOR = ["atom", "pow"], NUMERATOR = ["atom", "pow", "neg"], ATOM = ["atom"];
  const echo = {
    atom: (text) => ({ text, kind: "atom" }),
    add: (l, r) => (r.kind === "neg"
      ? { text: l.text + " - " + wrap(r.operand, TERM), kind: "sum" }
      : { text: l.text + " + " + wrap(r, TERM), kind: "sum" }),
    multiply: (l, r) => ({ text: wrap(l, LEFT_FACTOR) + "·" + wrap(r, RIGHT_FACTOR), kind: "prod" }),
    negate: (x) => ({ text: "-" + wrap(x, ATOM), kind: "neg", operand: x }),
    divide: (l, r) => ({ text: wrap(l, NUMERATOR) + "/" + wrap(r, RIGHT_FACTOR), kind: "quot" }),
    power: (b, e) => ({ text: wrap(b, ATOM) + "^" + wrap(e, ATOM), kind: "pow" }),
    call: (name, arg) => ({ text: name + "(" + arg.text + ")", kind: "atom" }),
    superscript: (digits) => {
      const v = BigInt(digits);
      return v < 0n ? echo.negate(echo.atom((-v).toString())) : echo.atom(v.toString());
    },
  };
  // A value (known constant or not) with the echo of how it was read.
  const read = (v, node) => ({ value: v.value, e: v.e, node });
  const IMPLICIT_FACTOR = ["var", "const", "func", "open", "frac"]; // what 2x multiplies by

  // ``tight``: the other reading of "/" followed by an implicit product (1/2x as 1/(2x));
  // ``ambiguous`` says whether there was such a "/".
  function parseTokens(tokens, tight) {
    let k = 0, depth = 0, functionDepth = 0, ambiguous = false;
    const tok = () => tokens[k];
    const advance = () => tokens[k++];
    const enter = (pos) => {
      depth++;
      if (depth > G.formulaMaxDepth) throw new GrammarError("nesting", pos);
    };
    const unexpected = (t) => {
      if (t.kind === "end") return new GrammarError("syntax", t.pos);
      if (t.kind === "close") return new GrammarError("bracket", t.pos);
      if (t.kind === "sup") return new GrammarError("superscript", t.pos);
      return new GrammarError("syntax", t.pos);
    };
    const isOp = (t, ops) => t.kind === "op" && ops.includes(t.text);
    const checked = (f, at) => {
      if (bits(f) > MAX_BITS) throw new GrammarError("value", at);
      return f;
    };
    function add(a, b, negate, at) {
      if (a.value === null || b.value === null) return unknown;
      const bn = negate ? -b.value.n : b.value.n;
      return known(checked(frac(a.value.n * b.value.d + bn * a.value.d, a.value.d * b.value.d), at));
    }
    function multiply(a, b, at) {
      if (a.value !== null && a.value.n === 0n) return known(ZERO);
      if (b.value !== null && b.value.n === 0n) return known(ZERO);
      if (a.value === null || b.value === null) return unknown;
      return known(checked(frac(a.value.n * b.value.n, a.value.d * b.value.d), at));
    }
    function divide(a, b, at) {
      if (b.value !== null && b.value.n === 0n) throw new GrammarError("zero_division", at);
      if (b.value === null) return a.value !== null && a.value.n === 0n ? known(ZERO) : unknown;
      return multiply(a, known(frac(b.value.d, b.value.n)), at);
    }
    function raiseTo(base, exponent, at) {
      if (base.e) return unknown; // e^t is exp(t) for any t
      const q = exponent.value;
      if (q === null) throw new GrammarError("exponent_formula", at);
      const absN = q.n < 0n ? -q.n : q.n;
      if (absN > MAX_POWER * q.d || q.d > MAX_POWER) throw new GrammarError("exponent_range", at);
      if (q.n < 0n && base.value !== null && base.value.n === 0n) {
        throw new GrammarError("zero_division", at);
      }
      if (q.n === q.d) return base;
      if (base.value === null) return unknown;
      const b = base.value;
      if (q.d !== 1n && b.n < 0n) throw new GrammarError("value", at);
      if (bits(b) * Number(absN) / Number(q.d) > MAX_BITS) throw new GrammarError("value", at);
      if (q.d !== 1n) {
        if (bits(b) > MAX_ROOT_BITS) throw new GrammarError("value", at);
        return unknown; // a root: the grader keeps it exact, the page need not know it
      }
      const p = Number(absN);
      const n = b.n ** BigInt(p), d = b.d ** BigInt(p);
      return known(q.n < 0n ? frac(d, n) : frac(n, d));
    }
    function sum() {
      let left = term();
      while (isOp(tok(), "+-")) {
        const op = advance();
        const right = term();
        const node = op.text === "-" ? echo.negate(right.node) : right.node;
        left = read(add(left, right, op.text === "-", op.pos), echo.add(left.node, node));
      }
      return left;
    }
    function term() {
      let left = unary();
      for (;;) {
        const t = tok();
        if (isOp(t, "*/")) {
          advance();
          const at = tok().pos;
          let right = unary();
          if (t.text === "/" && IMPLICIT_FACTOR.includes(tok().kind)) {
            ambiguous = true;
            while (tight && IMPLICIT_FACTOR.includes(tok().kind)) {
              const factor = power();
              right = read(multiply(right, factor, tok().pos), echo.multiply(right.node, factor.node));
            }
          }
          left = t.text === "*"
            ? read(multiply(left, right, t.pos), echo.multiply(left.node, right.node))
            : read(divide(left, right, at), echo.divide(left.node, right.node));
        } else if (IMPLICIT_FACTOR.includes(t.kind)) {
          const factor = power();
          left = read(multiply(left, factor, t.pos), echo.multiply(left.node, factor.node));
        } else if (t.kind === "num") {
          throw new GrammarError("syntax", t.pos);
        } else {
          return left;
        }
      }
    }
    function unary() {
      const t = tok();
      if (isOp(t, "+-")) {
        advance();
        enter(t.pos);
        const operand = unary();
        depth--;
        if (t.text === "+") return operand;
        const value = operand.value === null ? unknown
          : known({ n: -operand.value.n, d: operand.value.d });
        return read(value, echo.negate(operand.node));
      }
      return power();
    }
    function power() {
      let base = primary();
      while (tok().kind === "sup") {
        const t = advance();
        const raised = raiseTo(base, known(frac(BigInt(t.text), 1n)), t.pos);
        base = read(raised, echo.power(base.node, echo.superscript(t.text)));
      }
      if (isOp(tok(), "^")) {
        const caret = advance();
        enter(caret.pos);
        const at = tok().pos;
        const exponent = unary();
        depth--;
        base = read(raiseTo(base, exponent, at), echo.power(base.node, exponent.node));
      }
      return base;
    }
    function primary() {
      const t = tok();
      if (t.kind === "num") {
        advance();
        return read(known(parseNumberOrThrow(t.text)), echo.atom(t.text));
      }
      if (t.kind === "var") { advance(); return read(unknown, echo.atom(t.text)); }
      if (t.kind === "const") { advance(); return read({ value: null, e: true }, echo.atom("e")); }
      if (t.kind === "func") return call();
      if (t.kind === "open") return group();
      if (t.kind === "frac") {
        advance();
        const numerator = group();
        const at = tok().pos;
        const denominator = group();
        return read(divide(numerator, denominator, at), echo.divide(numerator.node, denominator.node));
      }
      throw unexpected(t);
    }
    function group() {
      const opener = tok();
      if (opener.kind !== "open") {
        throw new GrammarError(opener.kind === "end" ? "syntax" : "bracket", opener.pos);
      }
      advance();
      enter(opener.pos);
      if (tok().kind === "close") throw new GrammarError("bracket", opener.pos);
      const inner = sum();
      const closer = tok();
      if (closer.kind === "end") throw new GrammarError("bracket", opener.pos);
      if (closer.kind !== "close") throw unexpected(closer);
      if (closer.text !== CLOSER[opener.text]) throw new GrammarError("bracket", closer.pos);
      advance();
      depth--;
      return inner;
    }
    function call() {
      const t = advance();
      if (functionDepth >= G.formulaMaxFunctionDepth) throw new GrammarError("nesting", t.pos);
      if (tok().kind !== "open") throw new GrammarError("bracket", tok().pos);
      functionDepth++;
      const arg = group();
      functionDepth--;
      return read(apply(t, arg), echo.call(t.text, arg.node));
    }
    function apply(t, arg) {
      if (t.text === "sqrt") return raiseTo(arg, known({ n: 1n, d: 2n }), t.pos);
      if (t.text === "log" && arg.value !== null && arg.value.n <= 0n) {
        throw new GrammarError("value", t.pos);
      }
      if (t.text === "identity") return arg;
      if (arg.value !== null && t.text in PIECEWISE) return known(PIECEWISE[t.text](arg.value));
      return unknown; // exp(0) is 1 for the grader; the page need not know it
    }
    if (tok().kind === "end") throw new GrammarError("empty", 0);
    const whole = sum();
    const t = tok();
    if (t.kind === "close") throw new GrammarError("bracket", t.pos);
    if (t.kind !== "end") throw new GrammarError("syntax", t.pos);
    return { reading: whole.node.text, ambiguous };
  }

  // The activations that are rational on each piece: the grader folds them on a number.
  const abs = (f) => (f.n < 0n ? { n: -f.n, d: f.d } : f);
  const PIECEWISE = {
    relu: (f) => (f.n > 0n ? f : ZERO),
    softsign: (f) => frac(f.n * f.d, f.d * (f.d + abs(f).n)),
    hard_sigmoid: (f) => {
      const v = frac(f.n * 2n + f.d * 4n, f.d * 8n); // t/4 + 1/2
      if (v.n < 0n) return ZERO;
      return v.n > v.d ? { n: 1n, d: 1n } : v;
    },
  };

  // What word processors put in place of ASCII, one character for one (as the grader).
  function normalizeTypography(t) {
    let out = "";
    for (const ch of t) {
      const c = ch.charCodeAt(0);
      if (ch === "\u2012" || ch === "\u2013" || ch === "\u2014") out += "-";
      else if (ch === "\u2022") out += "*";
      else if (ch === "\u3000") out += " ";
      else if (c >= 0xff01 && c <= 0xff5e) out += String.fromCharCode(c - 0xfee0);
      else out += ch;
    }
    return out;
  }

  // The optional left-hand side of a formula field (grader/grade/lhs.py): "df/dx = …".
  const LHS_NAME = "([A-Za-z][A-Za-z0-9]*)";
  const LHS_PARTIALS = [
    new RegExp("^d" + LHS_NAME + "/d" + LHS_NAME + "$"),
    new RegExp("^\\\\frac\\{d" + LHS_NAME + "\\}\\{d" + LHS_NAME + "\\}$"),
    new RegExp("^" + LHS_NAME + "_\\{?" + LHS_NAME + "\\}?$"),
  ];
  const OUTPUT_SPELLINGS = new Set(["ŷ", "y\u0302", "yhat", "y_hat", "\\hat{y}", "\\hat y", "y^"]);
  function readsAsQuantity(name) {
    const compact = Array.from(name).filter((c) => !WHITESPACE.has(c)).join("");
    if (OUTPUT_SPELLINGS.has(compact) || OUTPUT_SPELLINGS.has(strip(name, WHITESPACE))) return true;
    const d = compact.split("\\partial").join("d").split("∂").join("d").split("\u{1d715}").join("d");
    return LHS_PARTIALS.some((re) => re.test(d));
  }
  function splitLhs(text) {
    if (text.split("=").length !== 2) return [text, 0];
    const at = text.indexOf("=");
    const left = text.slice(0, at);
    const name = strip(left, WHITESPACE);
    if (Array.from(name).length > 40) throw new GrammarError("lhs", 0);
    if (!readsAsQuantity(name)) throw new GrammarError("lhs", 0);
    return [text.slice(at + 1), Array.from(left).length + 1];
  }

  // The verdict on a formula field and, when it reads, how it reads: ``reading`` and, for
  // a "/" followed by an implicit product, ``other`` (the reading the student may have
  // meant; null when there is none or it is undefined, as grader/grade/formulas.py has it).
  function checkFormula(text, names, lhs) {
    try {
      let t = text, offset = 0, first, other = null;
      if (lhs) [t, offset] = splitLhs(text);
      t = units(t);
      try {
        if (t.length > G.formulaMaxLength) throw new GrammarError("too_long", G.formulaMaxLength);
        const tokens = tokenize(normalizeTypography(t), names);
        first = parseTokens(tokens, false);
        if (first.ambiguous) {
          try {
            other = parseTokens(tokens, true).reading;
          } catch (e) {
            if (!(e instanceof GrammarError)) throw e;
          }
        }
      } catch (e) {
        if (e instanceof GrammarError) e.position += offset;
        throw e;
      }
      return { ok: true, reading: first.reading, other };
    } catch (e) {
      if (!(e instanceof GrammarError)) throw e;
      return { ok: false, kind: e.kind, position: e.position };
    }
  }

  // For tests/test_answer_page.py: the page's checker, run in a real browser.
  window.answerPageGrammar = { parseNumber, checkFormula };

  // ------------------------------------------------------------ the page

  const W = DATA.words;
  const inputs = Array.from(document.querySelectorAll("input[data-ptr]"));
  const notice = document.getElementById("notice");
  const say = (text) => { notice.textContent = text; };
  const fill = (template, values) =>
    template.replace(/\{(\w+)\}/g, (_, key) => (key in values ? String(values[key]) : ""));

  // Under a formula field: how the grader reads it, said louder when a "/" is followed by
  // an implicit product (the student may have meant the other reading).
  function echoReading(input, verdict) {
    const box = input.parentElement.querySelector(".reading");
    if (!box) return;
    const shown = verdict !== null && verdict.ok;
    box.hidden = !shown;
    box.classList.toggle("ambiguous", shown && verdict.other !== null);
    if (!shown) {
      box.textContent = "";
    } else if (verdict.other === null) {
      box.textContent = fill(W.reading, { reading: verdict.reading });
    } else {
      box.textContent = fill(W.reading_ambiguous, { reading: verdict.reading, other: verdict.other });
    }
  }

  function check(input) {
    const field = DATA.fields[input.dataset.ptr];
    const status = input.nextElementSibling;
    const text = input.value;
    let verdict;
    if (text === "") {
      echoReading(input, null);
      input.classList.remove("ok", "bad");
      status.textContent = "";
      input.title = input.getAttribute("aria-label") + " — " + W.status_empty;
      return "empty";
    }
    if (field.kind === "formula") {
      verdict = checkFormula(text, DATA.vocabularies[field.vocabulary], field.lhs);
      echoReading(input, verdict);
    } else {
      verdict = parseNumber(text);
    }
    input.classList.toggle("ok", verdict.ok);
    input.classList.toggle("bad", !verdict.ok);
    if (verdict.ok) {
      status.textContent = "✓";
      input.title = field.kind === "formula" ? W.status_formula_ok
        : fill(W.status_ok, { value: verdict.value });
      input.removeAttribute("aria-invalid");
    } else {
      const unplaced = verdict.kind === "too_long" || verdict.kind === "empty";
      const where = unplaced ? "" : " (" + fill(W.at, { n: verdict.position + 1 }) + ")";
      status.textContent = W.errors[verdict.kind] + where;
      input.title = status.textContent;
      input.setAttribute("aria-invalid", "true");
    }
    return verdict.ok ? "ok" : "bad";
  }

  function recount() {
    let filled = 0, bad = 0;
    for (const input of inputs) {
      if (input.value !== "") filled++;
      if (input.classList.contains("bad")) bad++;
    }
    document.getElementById("count").textContent =
      fill(W.count, { filled, total: inputs.length, bad });
  }

  function draft() {
    const answers = {};
    for (const input of inputs) if (input.value !== "") answers[input.dataset.ptr] = input.value;
    return answers;
  }

  function save() {
    try {
      localStorage.setItem(DATA.storageKey, JSON.stringify({ answers: draft() }));
    } catch (e) { /* storage full or disabled: the page still works */ }
  }

  function setAll(values) {
    for (const input of inputs) {
      const v = values[input.dataset.ptr];
      input.value = v === undefined || v === null ? "" : String(v);
      check(input);
    }
    recount();
  }

  // The answers as the submission's layout: every leaf the typed text, or null.
  function submission() {
    const texts = draft();
    const build = (node, ptr) => {
      if (Array.isArray(node)) return node.map((v, i) => build(v, ptr + "/" + i));
      if (node !== null && typeof node === "object") {
        const out = {};
        for (const key of Object.keys(node)) {
          out[key] = build(node[key], ptr + "/" + key.replace(/~/g, "~0").replace(/\//g, "~1"));
        }
        return out;
      }
      return Object.prototype.hasOwnProperty.call(texts, ptr) ? texts[ptr] : null;
    };
    return { assignment: DATA.assignment, student: DATA.student, answers: build(DATA.layout, "/answers") };
  }

  function leafAt(data, ptr) {
    let node = data;
    for (const raw of ptr.split("/").slice(1)) {
      const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      if (node === null || typeof node !== "object" || !(key in node)) return null;
      node = node[key];
    }
    return typeof node === "string" || typeof node === "number" ? String(node) : null;
  }

  document.getElementById("download").addEventListener("click", () => {
    const text = JSON.stringify(submission(), null, 2) + "\n";
    const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = DATA.student + ".json";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });

  document.getElementById("load").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => {
      let data;
      try {
        data = JSON.parse(String(reader.result));
      } catch (e) {
        say(fill(W.load_failed, { reason: e.message }));
        return;
      }
      if (data === null || typeof data !== "object" || data.assignment !== DATA.assignment ||
          data.student !== DATA.student) {
        const what = data && typeof data === "object" ? data.assignment + " / " + data.student : "?";
        say(fill(W.load_other, { what }));
        return;
      }
      const values = {};
      for (const input of inputs) values[input.dataset.ptr] = leafAt(data, input.dataset.ptr);
      setAll(values);
      save();
      say(W.loaded);
    };
    reader.readAsText(file);
    event.target.value = "";
  });

  document.getElementById("clear").addEventListener("click", () => {
    if (!window.confirm(W.clear_confirm)) return;
    setAll({});
    save();
  });

  for (const input of inputs) {
    input.addEventListener("input", () => {
      check(input);
      recount();
      save();
    });
  }

  let restored = null;
  try {
    restored = JSON.parse(localStorage.getItem(DATA.storageKey) || "null");
  } catch (e) { restored = null; }
  if (restored && restored.answers && typeof restored.answers === "object") {
    setAll(restored.answers);
    say(W.restored);
  } else {
    recount();
  }
})();
