// Depthwise 2-D convolution (NCHW, float32, no bias) for CPU training.
//
// Paddle's CPU kernel for grouped convolutions runs im2col + a tiny GEMM per group on one
// thread. Here every (image, channel) plane is an independent task spread over OpenMP
// threads, and the inner loops run along image rows so that the compiler vectorises them
// (built with -O3 and, when the build machine supports it, -mavx2 -mfma). Planes are handed
// out dynamically so that a core shared with other processes does not stall the others.
//
// Supported: groups == C_in == C_out, square kernel K in {3, 5}, stride S in {1, 2},
// symmetric zero padding 0 <= P <= K - 1. Weight shape [C, 1, K, K].
//
// Layout trick used by all three kernels: the zero-padded input plane is stored as S
// "phases" (column residues mod S), phase q holding padded columns q, q + S, q + 2S, ...
// Tap kx of output column ox then reads phase kx % S at index ox + kx / S, i.e. every
// inner loop is a unit-stride loop over ox, also for stride 2.

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "paddle/extension.h"

namespace {

struct Geometry {
  int64_t n, c, h, w, k, s, p, ho, wo;
  // Padded rows / per-phase columns that the output actually touches.
  int64_t hp() const { return (ho - 1) * s + k; }
  int64_t wh() const { return wo + (k - 1) / s; }
};

int64_t OutSize(int64_t in, int64_t k, int64_t s, int64_t p) { return (in + 2 * p - k) / s + 1; }

// Threads for a call: the requested count, but at most one per ~2M multiply-adds so that
// small layers do not pay OpenMP wake-up latency (large on a busy machine) for no gain.
int ResolveThreads(int requested, int64_t planes, int64_t macs) {
  int64_t n = requested > 0 ? requested : omp_get_max_threads();
  n = std::min<int64_t>(n, std::max<int64_t>(1, macs / (int64_t{2} << 20)));
  return static_cast<int>(std::max<int64_t>(1, std::min(n, planes)));
}

// buf[q][r][j] = x[r - p][s * j + q - p] (zero outside the image), r < hp, j < wh.
template <int S>
void BuildPhases(const float* x, int64_t h, int64_t w, int64_t p, int64_t hp, int64_t wh, float* buf) {
  for (int q = 0; q < S; ++q) {
    float* phase = buf + q * hp * wh;
    for (int64_t r = 0; r < hp; ++r) {
      float* dst = phase + r * wh;
      const int64_t iy = r - p;
      if (iy < 0 || iy >= h) {
        std::memset(dst, 0, sizeof(float) * wh);
        continue;
      }
      const float* src = x + iy * w;
      if (S == 1) {
        // Columns [p, p + w) hold the image row; the rest is zero padding.
        const int64_t lo = std::min<int64_t>(p, wh);
        const int64_t hi = std::min<int64_t>(p + w, wh);
        std::memset(dst, 0, sizeof(float) * lo);
        if (hi > lo) std::memcpy(dst + lo, src + (lo - p), sizeof(float) * (hi - lo));
        if (wh > hi) std::memset(dst + hi, 0, sizeof(float) * (wh - hi));
      } else {
        for (int64_t j = 0; j < wh; ++j) {
          const int64_t ix = S * j + q - p;
          dst[j] = (ix >= 0 && ix < w) ? src[ix] : 0.f;
        }
      }
    }
  }
}

// y[oy][ox] = sum_{ky,kx} wt[ky][kx] * xpad[S*oy + ky][S*ox + kx] for one plane.
template <int K, int S>
void ForwardPlane(const float* x, const float* wt, float* y, int64_t h, int64_t w, int64_t p, int64_t ho,
                  int64_t wo, float* buf) {
  const int64_t hp = (ho - 1) * S + K;
  const int64_t wh = wo + (K - 1) / S;
  BuildPhases<S>(x, h, w, p, hp, wh, buf);
  float wk[K * K];
  for (int t = 0; t < K * K; ++t) wk[t] = wt[t];
  for (int64_t oy = 0; oy < ho; ++oy) {
    // rows[ky][q]: padded row S*oy + ky of phase q; tap kx reads rows[ky][kx % S][ox + kx / S].
    const float* rows[K][S];
    for (int ky = 0; ky < K; ++ky)
      for (int q = 0; q < S; ++q) rows[ky][q] = buf + q * hp * wh + (S * oy + ky) * wh;
    float* yr = y + oy * wo;
#pragma omp simd
    for (int64_t ox = 0; ox < wo; ++ox) {
      float acc = 0.f;
#pragma GCC unroll 8
      for (int ky = 0; ky < K; ++ky)
#pragma GCC unroll 8
        for (int kx = 0; kx < K; ++kx) acc += wk[ky * K + kx] * rows[ky][kx % S][ox + kx / S];
      yr[ox] = acc;
    }
  }
}

// Stride-2 input gradient: scatter dy into the phase layout of d(xpad), then crop.
template <int K>
void GradInputStride2Plane(const float* dy, const float* wt, float* dx, int64_t h, int64_t w, int64_t p,
                           int64_t ho, int64_t wo, float* buf) {
  constexpr int S = 2;
  const int64_t hp = (ho - 1) * S + K;
  const int64_t wh = wo + (K - 1) / S;
  std::memset(buf, 0, sizeof(float) * S * hp * wh);
  for (int64_t oy = 0; oy < ho; ++oy) {
    const float* d = dy + oy * wo;
    for (int ky = 0; ky < K; ++ky) {
      for (int kx = 0; kx < K; ++kx) {
        float* g = buf + (kx % S) * hp * wh + (S * oy + ky) * wh + kx / S;
        const float wv = wt[ky * K + kx];
#pragma omp simd
        for (int64_t ox = 0; ox < wo; ++ox) g[ox] += wv * d[ox];
      }
    }
  }
  for (int64_t iy = 0; iy < h; ++iy) {
    float* dst = dx + iy * w;
    const int64_t r = iy + p;
    if (r >= hp) {
      std::memset(dst, 0, sizeof(float) * w);
      continue;
    }
    for (int64_t ix = 0; ix < w; ++ix) {
      const int64_t c = ix + p;
      const int64_t j = c / S;
      dst[ix] = j < wh ? buf[(c % S) * hp * wh + r * wh + j] : 0.f;
    }
  }
}

// dw[ky][kx] += sum_{oy,ox} dy[oy][ox] * xpad[S*oy + ky][S*ox + kx] for one plane.
template <int K, int S>
void GradWeightPlane(const float* x, const float* dy, double* dw, int64_t h, int64_t w, int64_t p, int64_t ho,
                     int64_t wo, float* buf) {
  const int64_t hp = (ho - 1) * S + K;
  const int64_t wh = wo + (K - 1) / S;
  BuildPhases<S>(x, h, w, p, hp, wh, buf);
  for (int64_t oy = 0; oy < ho; ++oy) {
    const float* d = dy + oy * wo;
    for (int ky = 0; ky < K; ++ky) {
      const float* r0 = buf + 0 * hp * wh + (S * oy + ky) * wh;
      const float* r1 = buf + (1 % S) * hp * wh + (S * oy + ky) * wh;
      // Tap kx reads phase kx % S at offset kx / S; K independent accumulators.
      const float* p0 = r0;
      const float* p1 = (S == 1) ? r0 + 1 : r1;
      const float* p2 = (S == 1) ? r0 + 2 : r0 + 1;
      if (K == 3) {
        float s0 = 0.f, s1 = 0.f, s2 = 0.f;
#pragma omp simd reduction(+ : s0, s1, s2)
        for (int64_t ox = 0; ox < wo; ++ox) {
          const float v = d[ox];
          s0 += v * p0[ox];
          s1 += v * p1[ox];
          s2 += v * p2[ox];
        }
        dw[ky * K + 0] += s0;
        dw[ky * K + 1] += s1;
        dw[ky * K + 2] += s2;
      } else {
        const float* p3 = (S == 1) ? r0 + 3 : r1 + 1;
        const float* p4 = (S == 1) ? r0 + 4 : r0 + 2;
        float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f, s4 = 0.f;
#pragma omp simd reduction(+ : s0, s1, s2, s3, s4)
        for (int64_t ox = 0; ox < wo; ++ox) {
          const float v = d[ox];
          s0 += v * p0[ox];
          s1 += v * p1[ox];
          s2 += v * p2[ox];
          s3 += v * p3[ox];
          s4 += v * p4[ox];
        }
        dw[ky * K + 0] += s0;
        dw[ky * K + 1] += s1;
        dw[ky * K + 2] += s2;
        dw[ky * K + 3] += s3;
        dw[ky * K + 4] += s4;
      }
    }
  }
}

Geometry CheckAndGetGeometry(const paddle::Tensor& x, const paddle::Tensor& weight, int stride, int padding) {
  PD_CHECK(x.is_cpu() && weight.is_cpu(), "ppdet_depthwise_conv2d: CPU tensors only");
  PD_CHECK(x.dtype() == paddle::DataType::FLOAT32 && weight.dtype() == paddle::DataType::FLOAT32,
           "ppdet_depthwise_conv2d: float32 only");
  const auto xs = x.shape();
  const auto ws = weight.shape();
  PD_CHECK(xs.size() == 4, "ppdet_depthwise_conv2d: x must be NCHW");
  PD_CHECK(ws.size() == 4 && ws[0] == xs[1] && ws[1] == 1 && ws[2] == ws[3],
           "ppdet_depthwise_conv2d: weight must be [C, 1, K, K] with C = x.shape[1]");
  Geometry g;
  g.n = xs[0];
  g.c = xs[1];
  g.h = xs[2];
  g.w = xs[3];
  g.k = ws[2];
  g.s = stride;
  g.p = padding;
  PD_CHECK(g.k == 3 || g.k == 5, "ppdet_depthwise_conv2d: kernel size must be 3 or 5");
  PD_CHECK(g.s == 1 || g.s == 2, "ppdet_depthwise_conv2d: stride must be 1 or 2");
  PD_CHECK(g.p >= 0 && g.p <= g.k - 1, "ppdet_depthwise_conv2d: padding must be in [0, K-1]");
  g.ho = OutSize(g.h, g.k, g.s, g.p);
  g.wo = OutSize(g.w, g.k, g.s, g.p);
  PD_CHECK(g.ho > 0 && g.wo > 0, "ppdet_depthwise_conv2d: input smaller than the kernel");
  return g;
}

using ForwardFn = void (*)(const float*, const float*, float*, int64_t, int64_t, int64_t, int64_t, int64_t, float*);
using GradWeightFn = void (*)(const float*, const float*, double*, int64_t, int64_t, int64_t, int64_t, int64_t,
                              float*);

ForwardFn PickForward(int64_t k, int64_t s) {
  if (k == 3) return s == 1 ? &ForwardPlane<3, 1> : &ForwardPlane<3, 2>;
  return s == 1 ? &ForwardPlane<5, 1> : &ForwardPlane<5, 2>;
}

GradWeightFn PickGradWeight(int64_t k, int64_t s) {
  if (k == 3) return s == 1 ? &GradWeightPlane<3, 1> : &GradWeightPlane<3, 2>;
  return s == 1 ? &GradWeightPlane<5, 1> : &GradWeightPlane<5, 2>;
}

}  // namespace

std::vector<paddle::Tensor> DepthwiseConvForward(const paddle::Tensor& x_in, const paddle::Tensor& weight_in,
                                                 int stride, int padding, int num_threads) {
  const paddle::Tensor x = x_in.is_contiguous() ? x_in : x_in.contiguous();
  const paddle::Tensor weight = weight_in.is_contiguous() ? weight_in : weight_in.contiguous();
  const Geometry g = CheckAndGetGeometry(x, weight, stride, padding);
  auto out = paddle::empty({g.n, g.c, g.ho, g.wo}, paddle::DataType::FLOAT32, paddle::CPUPlace());
  const float* xp = x.data<float>();
  const float* wp = weight.data<float>();
  float* yp = out.data<float>();
  const ForwardFn fn = PickForward(g.k, g.s);
  const int64_t planes = g.n * g.c;
  const int64_t buf_size = g.s * g.hp() * g.wh();
  const int nt = ResolveThreads(num_threads, planes, planes * g.ho * g.wo * g.k * g.k);
#pragma omp parallel num_threads(nt)
  {
    std::vector<float> buf(buf_size);
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < planes; ++i) {
      const int64_t ch = i % g.c;
      fn(xp + i * g.h * g.w, wp + ch * g.k * g.k, yp + i * g.ho * g.wo, g.h, g.w, g.p, g.ho, g.wo, buf.data());
    }
  }
  return {out};
}

std::vector<paddle::Tensor> DepthwiseConvBackward(const paddle::Tensor& x_in, const paddle::Tensor& weight_in,
                                                  const paddle::Tensor& dy_in, int stride, int padding,
                                                  int num_threads) {
  const paddle::Tensor x = x_in.is_contiguous() ? x_in : x_in.contiguous();
  const paddle::Tensor weight = weight_in.is_contiguous() ? weight_in : weight_in.contiguous();
  const paddle::Tensor dy = dy_in.is_contiguous() ? dy_in : dy_in.contiguous();
  const Geometry g = CheckAndGetGeometry(x, weight, stride, padding);
  PD_CHECK(dy.shape() == std::vector<int64_t>({g.n, g.c, g.ho, g.wo}), "ppdet_depthwise_conv2d_grad: bad dy shape");
  auto dx = paddle::empty({g.n, g.c, g.h, g.w}, paddle::DataType::FLOAT32, paddle::CPUPlace());
  auto dw = paddle::empty({g.c, 1, g.k, g.k}, paddle::DataType::FLOAT32, paddle::CPUPlace());
  const float* xp = x.data<float>();
  const float* wp = weight.data<float>();
  const float* dyp = dy.data<float>();
  float* dxp = dx.data<float>();
  float* dwp = dw.data<float>();
  const int64_t kk = g.k * g.k;
  const int64_t planes = g.n * g.c;
  const int nt = ResolveThreads(num_threads, planes, 2 * planes * g.ho * g.wo * kk);

  // Stride 1: dx is a stride-1 correlation of dy with the flipped kernel and padding K-1-P.
  std::vector<float> flipped(g.c * kk);
  for (int64_t ch = 0; ch < g.c; ++ch)
    for (int64_t t = 0; t < kk; ++t) flipped[ch * kk + t] = wp[ch * kk + (kk - 1 - t)];
  const int64_t p_t = g.k - 1 - g.p;
  const int64_t dx_buf = g.s == 1 ? (g.h - 1 + g.k) * (g.w - 1 + g.k) : g.s * g.hp() * g.wh();
  const int64_t buf_size = std::max<int64_t>(dx_buf, g.s * g.hp() * g.wh());
  const ForwardFn fwd1 = PickForward(g.k, 1);
  const GradWeightFn gw = PickGradWeight(g.k, g.s);
  std::vector<double> partial(planes * kk, 0.0);

#pragma omp parallel num_threads(nt)
  {
    std::vector<float> buf(buf_size);
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < planes; ++i) {
      const int64_t ch = i % g.c;
      const float* xi = xp + i * g.h * g.w;
      const float* dyi = dyp + i * g.ho * g.wo;
      float* dxi = dxp + i * g.h * g.w;
      if (g.s == 1) {
        fwd1(dyi, flipped.data() + ch * kk, dxi, g.ho, g.wo, p_t, g.h, g.w, buf.data());
      } else if (g.k == 3) {
        GradInputStride2Plane<3>(dyi, wp + ch * kk, dxi, g.h, g.w, g.p, g.ho, g.wo, buf.data());
      } else {
        GradInputStride2Plane<5>(dyi, wp + ch * kk, dxi, g.h, g.w, g.p, g.ho, g.wo, buf.data());
      }
      gw(xi, dyi, partial.data() + i * kk, g.h, g.w, g.p, g.ho, g.wo, buf.data());
    }
  }
  for (int64_t ch = 0; ch < g.c; ++ch) {
    for (int64_t t = 0; t < kk; ++t) {
      double acc = 0.0;
      for (int64_t b = 0; b < g.n; ++b) acc += partial[(b * g.c + ch) * kk + t];
      dwp[ch * kk + t] = static_cast<float>(acc);
    }
  }
  return {dx, dw};
}

std::vector<std::vector<int64_t>> DepthwiseConvInferShape(const std::vector<int64_t>& x_shape,
                                                          const std::vector<int64_t>& w_shape, int stride,
                                                          int padding, int num_threads) {
  std::vector<int64_t> out = {x_shape[0], x_shape[1], -1, -1};
  if (x_shape[2] > 0) out[2] = OutSize(x_shape[2], w_shape[2], stride, padding);
  if (x_shape[3] > 0) out[3] = OutSize(x_shape[3], w_shape[3], stride, padding);
  return {out};
}

std::vector<paddle::DataType> DepthwiseConvInferDtype(const paddle::DataType& x_dtype,
                                                      const paddle::DataType& w_dtype) {
  return {x_dtype};
}

std::vector<std::vector<int64_t>> DepthwiseConvGradInferShape(const std::vector<int64_t>& x_shape,
                                                              const std::vector<int64_t>& w_shape,
                                                              const std::vector<int64_t>& dy_shape, int stride,
                                                              int padding, int num_threads) {
  return {x_shape, w_shape};
}

PD_BUILD_OP(ppdet_depthwise_conv2d)
    .Inputs({"X", "Weight"})
    .Outputs({"Out"})
    .Attrs({"stride: int", "padding: int", "num_threads: int"})
    .SetKernelFn(PD_KERNEL(DepthwiseConvForward))
    .SetInferShapeFn(PD_INFER_SHAPE(DepthwiseConvInferShape))
    .SetInferDtypeFn(PD_INFER_DTYPE(DepthwiseConvInferDtype));

PD_BUILD_GRAD_OP(ppdet_depthwise_conv2d)
    .Inputs({"X", "Weight", paddle::Grad("Out")})
    .Outputs({paddle::Grad("X"), paddle::Grad("Weight")})
    .Attrs({"stride: int", "padding: int", "num_threads: int"})
    .SetKernelFn(PD_KERNEL(DepthwiseConvBackward))
    .SetInferShapeFn(PD_INFER_SHAPE(DepthwiseConvGradInferShape));
