"""Winograd F(2x2, 3x3) convolution: 3x3 kernels, stride 1, dilation 1, one group.

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2016). Each 2x2 output tile
is computed from a 4x4 input tile ``d`` (tiles overlap by two rows/columns)::

    Y = A^T [ (G w G^T) * (B^T d B) ] A          (* elementwise over the 4x4 positions)

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]

Summed over input channels, the elementwise products become 16 matrix products, one per
transformed position ``(k, l)``: ``M_kl (O, P) = U_kl (O, C) @ V_kl (C, P)`` with
``U = G w G^T``, ``V = B^T d B`` for all ``P = N th tw`` tiles (``th = ceil(Ho / 2)``). That
is 16 multiply-adds per 4 outputs and input channel instead of 36 (2.25x fewer than im2col).

Shapes: ``x (N, C, H, W)`` padded by ``pads`` and, at the bottom/right, by the overhang of
the last tile (zeros: an odd output size needs a half tile); ``w (O, C, 3, 3)``;
``V (16, C, P)``, ``U (16, O, C)``, ``M (16, O, P)``; ``y (N, O, Ho, Wo)``.

Backward, with ``dM = A dY A^T`` (the output gradient in the transformed domain, made once)::

    dU_kl = dM_kl @ V_kl^T            dw = G^T dU G
    dV_kl = U_kl^T @ dM_kl            dx = sum over tiles of B dV B^T (tiles overlap-add)

The forward keeps ``V`` for the weight gradient. The transforms are applied to the padded
input held channel-major ``(C, N, Hp, Wp)``, so each of the 16 planes ``V_kl`` is written as a
contiguous ``(C, P)`` block; all scratch comes from the workspace. The plain
``conv2d_forward`` of :mod:`verigrad.functional.conv` (im2col) is its reference in the tests.

Float32 error measured 2e-7 to 8e-7 relative to the output scale, as direct convolution.
"""

from __future__ import annotations

import numpy as np

from ._parallel import run_split
from ._workspace import WORKSPACE

__all__ = ["eligible", "WinogradPlan", "winograd_forward", "winograd_backward"]

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def eligible(w_shape, stride, dilation, groups) -> bool:
    """Whether F(2x2, 3x3) applies: a 3x3 kernel, stride 1, dilation 1, one group."""
    return (
        tuple(w_shape[2:]) == (3, 3)
        and tuple(stride) == (1, 1)
        and tuple(dilation) == (1, 1)
        and groups == 1
    )


class WinogradPlan:
    """Tile geometry of one call, and what the forward keeps for the backward (``V``)."""

    def __init__(self, x_shape, w_shape, pads):
        n, c, h, w = x_shape
        o = w_shape[0]
        top, bottom, left, right = pads
        self.x_shape, self.w_shape, self.pads = tuple(x_shape), tuple(w_shape), tuple(pads)
        self.ho, self.wo = h + top + bottom - 2, w + left + right - 2
        self.th, self.tw = -(-self.ho // 2), -(-self.wo // 2)
        # the padded input every tile reads: 2 th + 2 rows (the overhang rows are zero)
        self.hp, self.wp = 2 * self.th + 2, 2 * self.tw + 2
        self.tiles = n * self.th * self.tw
        self.n, self.c, self.o = n, c, o
        self.transformed = None  # V (16, C, P), kept for the weight gradient

    def release(self) -> None:
        self.transformed = None


def _transform_weight(w: np.ndarray) -> np.ndarray:
    """``U (16, O, C) = G w G^T`` for every (o, c), as two small matmuls into the workspace."""
    o, c = w.shape[:2]
    g = _G.astype(w.dtype)
    half = WORKSPACE.take((4, o * c * 3), w.dtype)  # G on the kernel rows: (k, (o, c, v))
    np.matmul(g, w.transpose(2, 0, 1, 3).reshape(3, -1), out=half)
    u = WORKSPACE.take((16, o, c), w.dtype)  # then on the columns: (k, l, (o, c))
    np.matmul(g, half.reshape(4, o * c, 3).transpose(0, 2, 1), out=u.reshape(4, 4, o * c))
    return u


def _input_transform(xd: np.ndarray, plan: WinogradPlan) -> np.ndarray:
    """``V (16, C, P) = B^T d B`` of every 4x4 input tile ``d`` (see the module docstring)."""
    n, c, h, w = plan.x_shape
    top, left = plan.pads[0], plan.pads[2]
    dtype = xd.dtype
    th, tw = plan.th, plan.tw
    tag = ("winograd-pad", plan.x_shape, plan.pads, plan.hp, plan.wp)
    # channel-major padded input with a permanently zero border
    xp = WORKSPACE.take((c, n, plan.hp, plan.wp), dtype, tag, zero=True)
    t = WORKSPACE.take((4, c, n, th, plan.wp), dtype)
    v = WORKSPACE.take((16, c, plan.tiles), dtype)
    planes = v.reshape(4, 4, c, n, th, tw)

    def work(part):
        xp[part, :, top : top + h, left : left + w] = xd[:, part].transpose(1, 0, 2, 3)
        rows = [xp[part, :, a : a + 2 * th : 2, :] for a in range(4)]  # (c, N, th, Wp)
        tp = t[:, part]
        # B^T on the rows: t0 = r0 - r2, t1 = r1 + r2, t2 = r2 - r1, t3 = r1 - r3
        np.subtract(rows[0], rows[2], out=tp[0])
        np.add(rows[1], rows[2], out=tp[1])
        np.subtract(rows[2], rows[1], out=tp[2])
        np.subtract(rows[1], rows[3], out=tp[3])
        for k in range(4):  # then on the columns
            cols = [tp[k][..., b : b + 2 * tw : 2] for b in range(4)]
            out = planes[k, :, part]
            np.subtract(cols[0], cols[2], out=out[0])
            np.add(cols[1], cols[2], out=out[1])
            np.subtract(cols[2], cols[1], out=out[2])
            np.subtract(cols[1], cols[3], out=out[3])

    run_split(c, work, v.size)
    return v


def winograd_forward(xd, wd, pads, bias=None, keep=False):
    """``(y (N, O, Ho, Wo), plan)`` of the 3x3 stride-1 convolution of ``xd`` with ``wd``."""
    plan = WinogradPlan(xd.shape, wd.shape, pads)
    n, o, th, tw = plan.n, plan.o, plan.th, plan.tw
    v = _input_transform(xd, plan)
    m = WORKSPACE.take((16, o, plan.tiles), xd.dtype)
    np.matmul(_transform_weight(wd), v, out=m)
    if keep:
        plan.transformed = v
    if bias is not None:
        # A^T's column 1 is all ones: adding b to M_11 adds it to all four outputs of a tile,
        # a pass over 1/16 of M instead of over y
        m[5] += bias[:, None]
    # A^T on the rows, then on the columns: s_i = A^T rows of M, y_ij = s_i A columns
    mk = m.reshape(4, 4, o, n, th, tw)
    s = WORKSPACE.take((2, 4, o, n, th, tw), xd.dtype)
    y = WORKSPACE.take((n, o, 2 * th, 2 * tw), xd.dtype)

    def work(part):
        sp, mp = s[:, :, part], mk[:, :, part]
        np.add(mp[0], mp[1], out=sp[0])
        sp[0] += mp[2]
        np.subtract(mp[1], mp[2], out=sp[1])
        sp[1] -= mp[3]
        for i in range(2):
            first = y[:, part, i::2, 0::2].transpose(1, 0, 2, 3)
            second = y[:, part, i::2, 1::2].transpose(1, 0, 2, 3)
            np.add(sp[i, 0], sp[i, 1], out=first)
            first += sp[i, 2]
            np.subtract(sp[i, 1], sp[i, 2], out=second)
            second -= sp[i, 3]

    run_split(o, work, m.size)
    if (plan.ho, plan.wo) == (2 * th, 2 * tw):
        return y, plan
    result = WORKSPACE.take((n, o, plan.ho, plan.wo), xd.dtype)
    np.copyto(result, y[:, :, : plan.ho, : plan.wo])
    return result, plan


def _output_gradient_transform(g, plan) -> np.ndarray:
    """``dM (16, O, P) = A dY A^T`` of every 2x2 output-gradient tile (zeros past Ho, Wo)."""
    n, o, th, tw = plan.n, plan.o, plan.th, plan.tw
    if (plan.ho, plan.wo) != (2 * th, 2 * tw):
        padded = WORKSPACE.take((n, o, 2 * th, 2 * tw), g.dtype)
        padded[:, :, plan.ho :] = 0
        padded[:, :, :, plan.wo :] = 0
        padded[:, :, : plan.ho, : plan.wo] = g
        g = padded
    r = WORKSPACE.take((4, o, n, th, 2 * tw), g.dtype)
    dm = WORKSPACE.take((16, o, plan.tiles), g.dtype)
    planes = dm.reshape(4, 4, o, n, th, tw)

    def work(part):
        # A = [[1, 0], [1, 1], [1, -1], [0, -1]]: r0 = g0, r1 = g0 + g1, r2 = g0 - g1, r3 = -g1
        rp = r[:, part]
        g0 = g[:, part, 0::2].transpose(1, 0, 2, 3)
        g1 = g[:, part, 1::2].transpose(1, 0, 2, 3)
        np.copyto(rp[0], g0)
        np.add(g0, g1, out=rp[1])
        np.subtract(g0, g1, out=rp[2])
        np.negative(g1, out=rp[3])
        for k in range(4):  # the same on the columns
            c0, c1 = rp[k][..., 0::2], rp[k][..., 1::2]
            out = planes[k, :, part]
            np.copyto(out[0], c0)
            np.add(c0, c1, out=out[1])
            np.subtract(c0, c1, out=out[2])
            np.negative(c1, out=out[3])

    run_split(o, work, dm.size)
    return dm


def _input_gradient(dv: np.ndarray, plan) -> np.ndarray:
    """``dx`` from ``dV (16, C, P)``: tiles ``B dV B^T`` added where their inputs overlap."""
    n, c, h, w = plan.x_shape
    th, tw = plan.th, plan.tw
    top, left = plan.pads[0], plan.pads[2]
    dtype = dv.dtype
    planes = dv.reshape(4, 4, c, n, th, tw)
    e = WORKSPACE.take((4, 4, c, n, th, tw), dtype)
    dxp = WORKSPACE.take((c, n, plan.hp, plan.wp), dtype)
    rows = WORKSPACE.take((c, n, th, tw), dtype)
    dx = WORKSPACE.take(plan.x_shape, dtype)

    def work(part):
        # B on the columns (index l): e_kb = sum_l B[b, l] dV_kl, B^T rows as in the forward
        for k in range(4):
            p, ek = planes[k, :, part], e[k, :, part]
            np.copyto(ek[0], p[0])
            np.subtract(p[1], p[2], out=ek[1])
            ek[1] += p[3]
            np.add(p[1], p[2], out=ek[2])
            ek[2] -= p[0]
            np.negative(p[3], out=ek[3])
        # then on the rows (index k), added into the padded channel-major gradient
        dxp[part] = 0
        for b in range(4):
            columns = slice(b, b + 2 * tw, 2)
            for a, combine in enumerate(_ROW_COMBINATIONS):
                combine(e[:, b, part], rows[part])
                dxp[part, :, a : a + 2 * th : 2, columns] += rows[part]
        np.copyto(dx[:, part], dxp[part, :, top : top + h, left : left + w].transpose(1, 0, 2, 3))

    run_split(c, work, dv.size)
    return dx


def _row0(e, out):
    np.copyto(out, e[0])


def _row1(e, out):
    np.subtract(e[1], e[2], out=out)
    out += e[3]


def _row2(e, out):
    np.add(e[1], e[2], out=out)
    out -= e[0]


def _row3(e, out):
    np.negative(e[3], out=out)


#: row ``a`` of ``B dV``: ``sum_k B[a, k] dV_k`` with ``B = (B^T)^T``
_ROW_COMBINATIONS = (_row0, _row1, _row2, _row3)


def winograd_backward(g, xd, wd, plan, input_grad=True, weight_grad=True):
    """``(dL/dx, dL/dW)`` from ``g (N, O, Ho, Wo)``; ``V`` is the forward's or is rebuilt."""
    dm = _output_gradient_transform(g, plan)
    dx = dw = None
    if weight_grad:
        v = plan.transformed if plan.transformed is not None else _input_transform(xd, plan)
        du = WORKSPACE.take((16, plan.o, plan.c), g.dtype)
        np.matmul(dm, v.transpose(0, 2, 1), out=du)
        # dw = G^T dU G: G^T on k, then on l, as two small matmuls
        gt = _G.T.astype(g.dtype)
        half = np.matmul(gt, du.reshape(4, -1)).reshape(3, 4, plan.o * plan.c)
        dw = np.matmul(gt, half).reshape(3, 3, plan.o, plan.c).transpose(2, 3, 0, 1)
        dw = np.ascontiguousarray(dw)
    if input_grad:
        u = _transform_weight(wd)
        dv = WORKSPACE.take((16, plan.c, plan.tiles), g.dtype)
        np.matmul(u.transpose(0, 2, 1), dm, out=dv)
        dx = _input_gradient(dv, plan)
    plan.release()
    return dx, dw
