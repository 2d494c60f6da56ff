"""The derivation of each answer typeset: LaTeX lines that the HTML page renders as MathML.

:data:`DERIVATIONS` maps ``(section, part)`` to display equations in order; they restate,
in the course's notation, what each section module's docstring derives in ASCII. Every
line must be within what ``latex2mathml`` converts (tests check that no LaTeX survives on
the page).
"""

from __future__ import annotations

__all__ = ["DERIVATIONS", "derivation"]

#: (section, part) -> LaTeX display equations
DERIVATIONS = {
    (1, "a"): [
        r"W_2 (W_1 x + b_1) + b_2 = (W_2 W_1)\, x + (W_2 b_1 + b_2) = W x + b",
    ],
    (1, "b"): [
        r"\min_{D,\, \alpha}\ \frac{1}{2} \| x - D \alpha \|_2^2 + \lambda \| \alpha \|_1",
        r"\hat{x} = \sigma\left(W^{*} \sigma(W x + b) + b'\right)",
    ],
    (2, "2.1"): [
        r"a = W x + b, \quad \hat{y} = \mathrm{softmax}(a), \quad "
        r"l = -\sum_k y_k \log \hat{y}_k",
        r"\frac{\partial \hat{y}_k}{\partial a_i} = \hat{y}_k \left([k = i] - \hat{y}_i\right)",
        r"\frac{\partial l}{\partial a_i} = -\sum_k \frac{y_k}{\hat{y}_k}\, \hat{y}_k "
        r"\left([k = i] - \hat{y}_i\right) = \hat{y}_i \sum_k y_k - y_i = \hat{y}_i - y_i",
        r"\frac{\partial l}{\partial W_{ij}} = \frac{\partial l}{\partial a_i}\, "
        r"\frac{\partial a_i}{\partial W_{ij}} = (\hat{y}_i - y_i)\, x_j, \qquad "
        r"\frac{\partial l}{\partial W} = (\hat{y} - y)\, x^{\top}",
        r"\text{answer sheet: } -x_j\, y_i (1 - \hat{y}_i) \quad "
        r"\text{(only the } k = i \text{ term: right on the true-class row only)}",
    ],
    (2, "2.2"): [
        r"l = -\sum_i y_i \log \hat{y}_i = -\log \hat{y}_{c_1} = -\log 0 = +\infty",
        r"\frac{\partial l}{\partial z} = \hat{y} - y \in [-1, 1]^K",
        r"-\log \mathrm{softmax}(z)_{c_1} = \log \sum_k e^{z_k} - z_{c_1} \approx "
        r"z_{c_2} - z_{c_1}",
    ],
    (3, "3"): [
        r"u = x^2 + \sigma(y), \quad v = 3x + y - \sigma(x), \quad f = \frac{u}{v}",
        r"\frac{\partial f}{\partial u} = \frac{1}{v}, \quad "
        r"\frac{\partial f}{\partial v} = -\frac{u}{v^2}",
        r"\frac{\partial f}{\partial x} = \frac{1}{v}\, 2x - \frac{u}{v^2} "
        r"\left(3 - \sigma(x)(1 - \sigma(x))\right)",
        r"\frac{\partial f}{\partial y} = \frac{1}{v}\, \sigma(y)(1 - \sigma(y)) - "
        r"\frac{u}{v^2}",
    ],
    (4, "a"): [
        r"\text{max: } y = \max_{(p, q) \in R} x_{pq}, \quad "
        r"\text{average: } y = \frac{1}{|R|} \sum_{(p, q) \in R} x_{pq}, \quad "
        r"L_p\text{: } y = \left(\sum_{(p, q) \in R} x_{pq}^p\right)^{1/p}",
    ],
    (4, "b"): [
        r"\text{stochastic: } P(y = x_{pq}) = \frac{x_{pq}}{\sum_{R} x}, \quad "
        r"\text{eval: } y = \sum_{R} \frac{x_{pq}}{\sum_{R} x}\, x_{pq}",
        r"\text{mixed: } y = \alpha \max_R x + (1 - \alpha) \frac{1}{|R|} \sum_R x, \quad "
        r"\frac{\partial y}{\partial \alpha} = \max_R x - \frac{1}{|R|} \sum_R x",
    ],
    (4, "c"): [
        r"\mathrm{pool}(x) = \mathrm{pool}(x') \text{ for a small shift } x' "
        r"\text{ of } x \text{ inside the windows}",
    ],
    (5, "a"): [r"(n - k + 1) \times (n - k + 1) = (5 - 3 + 1) \times (5 - 3 + 1) = 3 \times 3"],
    (5, "b"): [r"y_{ij} = \sum_{u = 0}^{2} \sum_{v = 0}^{2} w_{uv}\, x_{i + u,\, j + v}"],
    (5, "c"): [
        r"\frac{\partial L}{\partial x_{pq}} = \sum_{i, j} g_{ij}\, w_{p - i,\, q - j} "
        r"\quad (g = 1: \text{ the kernel entries that touch } x_{pq})",
    ],
    (6, "a"): [
        r"a_1 = W x + b, \quad h = \sigma(a_1), \quad a_2 = W^{*} h + b', \quad "
        r"\hat{x} = \sigma(a_2)",
        r"\delta_2 = \frac{\partial L}{\partial a_2} = (\hat{x} - x) \odot \hat{x} \odot "
        r"(1 - \hat{x}) \quad \text{(squared error; } \hat{x} - x \text{ for cross-entropy)}",
        r"\frac{\partial L}{\partial W^{*}} = \delta_2 h^{\top}, \quad "
        r"\delta_1 = (W^{*\top} \delta_2) \odot h \odot (1 - h), \quad "
        r"\frac{\partial L}{\partial W} = \delta_1 x^{\top}",
    ],
    (6, "b"): [
        r"W \leftarrow W - \eta\, \nabla_W L",
        r"v \leftarrow \mu v + \nabla_W L, \quad W \leftarrow W - \eta\, v",
    ],
    (7, "7"): [
        r"\mathrm{err}_k = \frac{1}{N} \sum_{n = 1}^{N} "
        r"\left[\mathrm{rank}_n(y_n) > k\right]",
    ],
    (8, "a"): [
        r"q_{ij} = \frac{(1 + \|y_i - y_j\|^2)^{-1}}{\sum_{k \neq l} (1 + \|y_k - y_l\|^2)^{-1}}, "
        r"\quad C = \sum_{i \neq j} p_{ij} \log \frac{p_{ij}}{q_{ij}}",
        r"\frac{\partial C}{\partial y_i} = 4 \sum_j (p_{ij} - q_{ij})(y_i - y_j)"
        r"(1 + \|y_i - y_j\|^2)^{-1}",
    ],
    (8, "b"): [
        r"e^{-d^2 / 2} = (1 + y^2)^{-1} \iff y = \sqrt{e^{d^2 / 2} - 1}",
    ],
    (9, "A"): [
        r"\mathrm{prox}_{t \|\cdot\|_1}(x)_i = \mathrm{argmin}_u\ t |u| + \frac{1}{2} (u - x_i)^2 "
        r"= \mathrm{sign}(x_i) \max(|x_i| - t, 0)",
    ],
    (9, "B"): [
        r"g(x) = \frac{1}{2} \|A x - b\|^2, \quad h(x) = \lambda \|x\|_1",
        r"x^{+} = \mathrm{prox}_{h, t}\left(x - t A^{\top}(A x - b)\right) = "
        r"S_{\lambda t}\left(x - t A^{\top}(A x - b)\right)",
    ],
    (9, "C"): [
        r"u = \mathrm{argmin}_v\ h(v) + \frac{1}{2t} \|v - x\|^2 \iff "
        r"0 \in \partial h(u) + \frac{u - x}{t} \iff \frac{x - u}{t} \in \partial h(u)",
    ],
    (9, "D"): [
        r"G_t(x_k) = \frac{x_k - x_{k + 1}}{t}, \quad "
        r"G_t(x_k) - \nabla g(x_k) \in \partial h(x_{k + 1})",
    ],
}


def derivation(section: int, part: str) -> list:
    """The LaTeX lines of one question (empty when it has none)."""
    return list(DERIVATIONS.get((section, part), ()))
