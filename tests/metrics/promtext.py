#!/usr/bin/env python3
"""A strict parser of the Prometheus text exposition format 0.0.4, for the
metrics test (the prometheus_client parser is not available offline, and a
lenient one would hide what a real scraper trips on).

parse(text) -> {family name: Family}; raises ParseError naming the line for:
a sample before its family's HELP and TYPE, a TYPE or HELP given twice or
after samples, an unknown type, a bad metric or label name, a reserved label
name, a bad escape or an unterminated label value, a duplicate label, a value
that is not a Go float, a timestamp, a repeated series, a sample whose name
does not belong to its family's type, counters below zero, histograms whose
buckets are not cumulative, lack +Inf, disagree with _count, or miss _sum.

`python3 promtext.py --self-test` checks the parser refuses what it must.
"""
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
FLOAT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf|inf|NaN|nan)")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class ParseError(Exception):
    pass


class Family:
    def __init__(self, name):
        self.name = name
        self.help = None
        self.type = None
        self.samples = []  # (sample name, {label: value}, float)

    def values(self, name=None, **labels):
        """Samples of this family (or of `name`, e.g. a _bucket) whose labels include `labels`."""
        name = name or self.name
        return [v for (n, l, v) in self.samples if n == name and all(l.get(k) == w for k, w in labels.items())]

    def value(self, name=None, **labels):
        found = self.values(name, **labels)
        if len(found) != 1:
            raise AssertionError(f"{name or self.name}{labels}: {len(found)} samples, expected exactly one")
        return found[0]


def _unescape(text, lineno, help_text):
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                raise ParseError(f"line {lineno}: a backslash ends the text")
            n = text[i + 1]
            if n == "\\":
                out.append("\\")
            elif n == "n":
                out.append("\n")
            elif n == '"' and not help_text:
                out.append('"')
            else:
                raise ParseError(f"line {lineno}: unknown escape \\{n}")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _labels(text, pos, lineno):
    """Parses `{a="x",b="y"}` starting at text[pos] == '{'; returns (dict, position after '}')."""
    labels = {}
    pos += 1
    while True:
        if pos < len(text) and text[pos] == "}":
            return labels, pos + 1
        m = LABEL.match(text, pos)
        if not m:
            raise ParseError(f"line {lineno}: bad label name at column {pos + 1}")
        name = m.group(0)
        if name.startswith("__"):
            raise ParseError(f"line {lineno}: label name {name} is reserved")
        if name in labels:
            raise ParseError(f"line {lineno}: label {name} given twice")
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise ParseError(f"line {lineno}: expected =\" after label {name}")
        pos += 2
        start, raw = pos, None
        while pos < len(text):
            if text[pos] == "\\":
                pos += 2
                continue
            if text[pos] == '"':
                raw = text[start:pos]
                break
            if text[pos] == "\n":
                break
            pos += 1
        if raw is None:
            raise ParseError(f"line {lineno}: unterminated value of label {name}")
        labels[name] = _unescape(raw, lineno, help_text=False)
        pos += 1
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == "}":
            continue
        else:
            raise ParseError(f"line {lineno}: expected , or }} after label {name}")


def _owner(sample_name, families):
    """The family a sample name belongs to: itself, or a histogram's/summary's base."""
    if sample_name in families:
        return families[sample_name]
    for suffix in ("_bucket", "_sum", "_count"):
        if sample_name.endswith(suffix):
            base = families.get(sample_name[: -len(suffix)])
            if base and base.type in ("histogram", "summary"):
                if suffix == "_bucket" and base.type != "histogram":
                    break
                return base
    return None


def parse(text):
    if not text.endswith("\n"):
        raise ParseError("the exposition does not end with a newline")
    families, order, seen_series = {}, [], set()
    for lineno, line in enumerate(text.split("\n")[:-1], start=1):
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    raise ParseError(f"line {lineno}: bad metric name {name!r}")
                family = families.get(name)
                if family is None:
                    family = families[name] = Family(name)
                    order.append(name)
                if family.samples:
                    raise ParseError(f"line {lineno}: {parts[1]} of {name} after its samples")
                rest = parts[3] if len(parts) == 4 else ""
                if parts[1] == "HELP":
                    if family.help is not None:
                        raise ParseError(f"line {lineno}: second HELP for {name}")
                    family.help = _unescape(rest, lineno, help_text=True)
                else:
                    if family.type is not None:
                        raise ParseError(f"line {lineno}: second TYPE for {name}")
                    if rest not in TYPES:
                        raise ParseError(f"line {lineno}: unknown type {rest!r} for {name}")
                    family.type = rest
            continue  # other comments are allowed
        m = NAME.match(line)
        if not m:
            raise ParseError(f"line {lineno}: a sample must start with a metric name: {line!r}")
        sample_name, pos = m.group(0), m.end()
        labels = {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = _labels(line, pos, lineno)
        if pos >= len(line) or line[pos] != " ":
            raise ParseError(f"line {lineno}: expected one space before the value")
        fields = line[pos + 1:].split(" ")
        if len(fields) != 1:
            raise ParseError(f"line {lineno}: expected a value alone (no timestamp, no extra spaces): {line!r}")
        if not FLOAT.fullmatch(fields[0]):
            raise ParseError(f"line {lineno}: {fields[0]!r} is not a float")
        value = float(fields[0].replace("Inf", "inf").replace("NaN", "nan"))
        family = _owner(sample_name, families)
        if family is None or family.type is None or family.help is None:
            raise ParseError(f"line {lineno}: sample {sample_name} before its family's HELP and TYPE")
        if order[-1] != family.name:
            raise ParseError(f"line {lineno}: sample of {family.name} after another family started")
        if family.type in ("counter", "gauge", "untyped") and sample_name != family.name:
            raise ParseError(f"line {lineno}: {sample_name} in {family.type} family {family.name}")
        if family.type == "histogram" and sample_name == family.name:
            raise ParseError(f"line {lineno}: histogram {family.name} needs _bucket, _sum and _count samples")
        if sample_name.endswith("_bucket") and family.type == "histogram" and "le" not in labels:
            raise ParseError(f"line {lineno}: bucket without le")
        if family.type == "counter" and (value < 0 or math.isnan(value)):
            raise ParseError(f"line {lineno}: counter {sample_name} is {value}")
        key = (sample_name, tuple(sorted(labels.items())))
        if key in seen_series:
            raise ParseError(f"line {lineno}: series {sample_name}{labels} repeated")
        seen_series.add(key)
        family.samples.append((sample_name, labels, value))
    for family in families.values():
        if family.type is None or family.help is None:
            raise ParseError(f"family {family.name} lacks HELP or TYPE")
        if family.type == "histogram":
            _check_histogram(family)
    return families


def _check_histogram(family):
    groups = {}
    for name, labels, value in family.samples:
        base = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        groups.setdefault(base, {"buckets": [], "sum": None, "count": None})
        g = groups[base]
        if name.endswith("_bucket"):
            g["buckets"].append((float(labels["le"].replace("Inf", "inf")), value))
        elif name.endswith("_sum"):
            g["sum"] = value
        else:
            g["count"] = value
    for base, g in groups.items():
        where = f"{family.name}{dict(base)}"
        bounds = [b for b, _ in g["buckets"]]
        if not bounds or bounds[-1] != math.inf:
            raise ParseError(f"{where}: no le=\"+Inf\" bucket last")
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ParseError(f"{where}: le bounds not strictly increasing")
        counts = [c for _, c in g["buckets"]]
        if counts != sorted(counts):
            raise ParseError(f"{where}: buckets are not cumulative")
        if g["count"] is None or g["sum"] is None:
            raise ParseError(f"{where}: _count or _sum missing")
        if g["count"] != counts[-1]:
            raise ParseError(f"{where}: _count {g['count']} is not the +Inf bucket {counts[-1]}")


def _self_test():
    good = ('# HELP a_total A \\\\ b\\n.\n# TYPE a_total counter\na_total{x="q\\"\\\\\\n"} 1\n'
            '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n'
            '# HELP g G.\n# TYPE g gauge\ng NaN\ng{s="x"} -Inf\ng{s="y"} 1.5e-07\n')
    parsed = parse(good)
    assert parsed["a_total"].value(x='q"\\\n') == 1 and parsed["a_total"].help == "A \\ b\n."
    assert parsed["h"].value("h_count") == 2 and math.isnan(parsed["g"].values()[0]), parsed
    bad = {
        "no TYPE": "# HELP a A\na 1\n",
        "sample first": "a 1\n# HELP a A\n# TYPE a gauge\n",
        "bad escape": '# HELP a A\n# TYPE a gauge\na{x="\\t"} 1\n',
        "unterminated": '# HELP a A\n# TYPE a gauge\na{x="y} 1\n',
        "reserved label": '# HELP a A\n# TYPE a gauge\na{__x="y"} 1\n',
        "timestamp": "# HELP a A\n# TYPE a gauge\na 1 1700000000\n",
        "repeated": "# HELP a A\n# TYPE a gauge\na 1\na 2\n",
        "not a float": "# HELP a A\n# TYPE a gauge\na one\n",
        "negative counter": "# HELP a A\n# TYPE a counter\na -1\n",
        "unknown type": "# HELP a A\n# TYPE a gauges\na 1\n",
        "no newline": "# HELP a A\n# TYPE a gauge\na 1",
        "interleaved": "# HELP a A\n# TYPE a gauge\n# HELP b B\n# TYPE b gauge\nb 1\na 1\n",
        "not cumulative": '# HELP h H\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
        "no +Inf": '# HELP h H\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
        "count differs": '# HELP h H\n# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n',
        "raw newline in help": "# HELP a A\nb\n# TYPE a gauge\na 1\n",
    }
    for what, text in bad.items():
        try:
            parse(text)
        except ParseError:
            continue
        raise AssertionError(f"the parser accepted {what}: {text!r}")
    print(f"promtext self-test: {1 + len(bad)} cases passed")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        _self_test()
    else:
        for path in sys.argv[1:]:
            families = parse(open(path, encoding="utf-8").read())
            print(f"{path}: {len(families)} families, {sum(len(f.samples) for f in families.values())} samples")
