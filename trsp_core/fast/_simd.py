"""Explicit short-vector axpy for numba (LLVM vector IR through an intrinsic).

numba compiles with LLVM's SLP vectoriser switched off, and the loop vectoriser
does not touch the short fixed-length rows of the K^-1 scatter (9, 5 or 3
cells), so that loop ran one scalar load/multiply/add/store per cell. The
intrinsic below emits ``dst[i:i+w] += src[j:j+w] * a`` as one <w x double>
load, multiply, add and store. Multiply and add stay separate IEEE operations
(no fused multiply-add), so every cell gets exactly the value the scalar loop
computes: the result is bit-identical, only faster.

No bounds checks (like numba's own indexing): callers guarantee that the
ranges lie inside both arrays.
"""
from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic


def _axpy_codegen(width):
    def codegen(context, builder, signature, args):
        dst, doff, src, soff, a = args
        dary = context.make_array(signature.args[0])(context, builder, dst)
        sary = context.make_array(signature.args[2])(context, builder, src)
        vty = ir.VectorType(ir.DoubleType(), width)
        dptr = builder.bitcast(builder.gep(dary.data, [doff]), vty.as_pointer())
        sptr = builder.bitcast(builder.gep(sary.data, [soff]), vty.as_pointer())
        x = builder.load(dptr, align=8)
        y = builder.load(sptr, align=8)
        undef = ir.Constant(vty, ir.Undefined)
        av = builder.insert_element(undef, a, ir.Constant(ir.IntType(32), 0))
        av = builder.shuffle_vector(av, undef, ir.Constant(ir.VectorType(ir.IntType(32), width), [0] * width))
        builder.store(builder.fadd(x, builder.fmul(y, av)), dptr, align=8)
        return context.get_dummy_value()

    return codegen


def _make_axpy(width):
    @intrinsic
    def axpy(typingctx, dst, doff, src, soff, a):
        """dst[doff:doff+w] += src[soff:soff+w] * a for C-contiguous float64 arrays (1-d views of the data)."""
        sig = types.void(dst, types.intp, src, types.intp, types.float64)
        return sig, _axpy_codegen(width)

    axpy.__name__ = f"axpy{width}"
    return axpy


axpy9 = _make_axpy(9)
axpy8 = _make_axpy(8)
axpy5 = _make_axpy(5)
axpy4 = _make_axpy(4)
axpy3 = _make_axpy(3)
axpy2 = _make_axpy(2)
