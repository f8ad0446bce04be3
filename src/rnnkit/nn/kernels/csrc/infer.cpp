// rnnkit's CPU inference kernels: the recurrence as a C++ loop, for inference (no autograd).
//
// Python pays microseconds per tensor operation, and so does ATen's dispatcher; at batch 1 a step is a
// few GEMVs and a few hundred gate values, so the overhead, not the arithmetic, sets the speed. Here a
// step of one layer makes no ATen call at batch 1: the GEMVs are a hand-written loop over the weights,
// the gates are squashed in one pass of plain C++, and scratch memory is reused across calls. Larger
// batches use ATen's GEMM (MKL) for the products. Weights arrive transposed and contiguous, W^T (in, G*H),
// for MKL, and packed in 64-column panels (pack) for the batch-1 GEMV, so the products stream memory in
// order. The equations are those of rnnkit/nn/cells.py.
//
// The hot loops are compiled for AVX-512, AVX2+FMA and baseline x86-64 (GCC's target_clones picks one
// at load time), so one build runs on any x86-64 CPU at its best width. exp and tanh are Cephes'
// single-precision algorithms (1-2 ulp), written branch-free so the compiler vectorises them (no -ffast-math:
// it would fold the rounding trick in exp_).
#include <torch/extension.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RNNKIT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RNNKIT_CLONES
#endif

namespace {

enum class Kind { RnnTanh, RnnRelu, Lstm, Gru, GruResetBefore, LayerNormLstm };

Kind kind_of(const std::string& name) {
  if (name == "rnn") return Kind::RnnTanh;
  if (name == "rnn-relu") return Kind::RnnRelu;
  if (name == "lstm") return Kind::Lstm;
  if (name == "gru") return Kind::Gru;
  if (name == "gru-reset-before") return Kind::GruResetBefore;
  if (name == "lstm-layernorm") return Kind::LayerNormLstm;
  TORCH_CHECK(false, "rnnkit infer: unknown cell ", name);
}

// ------------------------------------------------------------------ elementwise math (inlined, vectorisable)

inline float exp_(float x) {  // Cephes expf: e^x = 2^n e^r, |r| <= ln2/2, e^r by a polynomial
  x = std::min(std::max(x, -87.0f), 88.0f);  // NaN stays NaN
  // n = round(x / ln2) by the 1.5 * 2^23 trick: no libm call and no branch, so the loops around it vectorise.
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r2 + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n
  return y * __builtin_bit_cast(float, bits);
}

inline float sigmoid_(float x) { return 1.0f / (1.0f + exp_(-x)); }

inline float tanh_(float x) {  // Cephes tanhf: a polynomial for |x| < 0.625, 1 - 2 / (e^2|x| + 1) beyond
  const float a = std::fabs(x);
  const float big = std::copysign(1.0f - 2.0f / (exp_(2.0f * a) + 1.0f), x);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = x + x * z * p;
  return a > 0.625f ? big : small;
}

// ------------------------------------------------------------------ products

constexpr int64_t kPanel = 64;  // outputs per panel of a packed W^T

int64_t panels_of(int64_t n) { return (n + kPanel - 1) / kPanel; }

// y[0 .. m) (+)= acc[0 .. m): a panel's sums out of registers.
inline void store(const float* __restrict acc, float* __restrict y, int64_t m, bool accumulate) {
  for (int64_t j = 0; j < m; ++j) y[j] = accumulate ? y[j] + acc[j] : acc[j];
}

// One panel's outputs: acc[j] = sum_e x[e] panel[e, j], e in order (so the sums are the same in any panel order).
inline void panel_sums(const float* __restrict x, int64_t in, const float* __restrict panel, float* __restrict acc) {
  for (int64_t e = 0; e < in; ++e) {
    const float xe = x[e];
    const float* row = panel + e * kPanel;
    for (int64_t j = 0; j < kPanel; ++j) acc[j] += xe * row[j];
  }
}

// y[j] (+)= sum_e x[e] W^T[e, j] for j < n: one row times W^T, 64 outputs at a time held in registers, from
// packed weights: panels (ceil(n / 64), in, 64), each a contiguous copy of 64 columns of W^T (zero-padded),
// so the loop reads memory strictly in order (W^T's rows are G*4 bytes apart: at G*4 >= 4 KiB
// each row is a new page, which the hardware prefetcher does not follow). Panels go two at a time (twice the
// independent FMA chains). `backward` visits the panels last to first: a sequence loop alternates it step by
// step, so each step starts on the weights the last one read most recently, still in L2 (at H = 256 the LSTM's
// W_hh is 1 MiB, an L2's size: read in one order every step, each panel is evicted just before it is needed).
RNNKIT_CLONES void gemv_packed(const float* __restrict x, int64_t in, const float* __restrict panels, int64_t n,
                               float* __restrict y, bool accumulate, bool backward) {
  const int64_t count = panels_of(n);
  const int64_t pairs = count / 2;
  auto sums_of_pair = [&](int64_t p) {
    float acc0[kPanel] = {};
    float acc1[kPanel] = {};
    const float* first = panels + p * in * kPanel;
    const float* second = first + in * kPanel;
    for (int64_t e = 0; e < in; ++e) {
      const float xe = x[e];
      const float* row0 = first + e * kPanel;
      const float* row1 = second + e * kPanel;
      for (int64_t j = 0; j < kPanel; ++j) acc0[j] += xe * row0[j];
      for (int64_t j = 0; j < kPanel; ++j) acc1[j] += xe * row1[j];
    }
    store(acc0, y + p * kPanel, std::min(kPanel, n - p * kPanel), accumulate);
    store(acc1, y + (p + 1) * kPanel, std::min(kPanel, n - (p + 1) * kPanel), accumulate);
  };
  auto sums_of_last = [&]() {  // an odd count's last panel
    const int64_t p = count - 1;
    float acc[kPanel] = {};
    panel_sums(x, in, panels + p * in * kPanel, acc);
    store(acc, y + p * kPanel, n - p * kPanel, accumulate);
  };
  if (backward && count % 2 == 1) sums_of_last();
  for (int64_t k = 0; k < pairs; ++k) sums_of_pair(2 * (backward ? pairs - 1 - k : k));
  if (!backward && count % 2 == 1) sums_of_last();
}

// Columns col0 .. col0 + n of W^T (in, G): batch 1 reads them from `panels`, larger batches from w_t.
struct Columns {
  const torch::Tensor& w_t;
  const float* panels;  // pack(w_t, ·) from column col0; required for batch 1
  int64_t col0, n;
  bool backward = false;  // batch 1: visit the panels last to first (gemv_packed)
};

// y (B, n; row stride ldy) (+)= x (B, in; row stride ldx) @ W^T[:, col0 : col0 + n]. Batch 1: gemv_packed; else MKL.
void linear(const float* x, int64_t B, int64_t in, int64_t ldx, const Columns& w, float* y, int64_t ldy,
            bool accumulate) {
  if (B == 1) {
    gemv_packed(x, in, w.panels, w.n, y, accumulate, w.backward);
    return;
  }
  const auto options = torch::TensorOptions().dtype(torch::kFloat);
  auto xt = torch::from_blob(const_cast<float*>(x), {B, in}, {ldx, 1}, options);
  auto yt = torch::from_blob(y, {B, w.n}, {ldy, 1}, options);
  auto wv = w.w_t.narrow(1, w.col0, w.n);
  if (accumulate) {
    yt.addmm_(xt, wv);
  } else {
    at::mm_out(yt, xt, wv);
  }
}

// ------------------------------------------------------------------ gates of one row (b) of one layer

// Elman: h' = act(g + b_ih + b_hh), g = x W_ih^T + h W_hh^T.
RNNKIT_CLONES void rnn_gates(const float* __restrict g, const float* __restrict b_ih, const float* __restrict b_hh,
                             float* __restrict h_new, int64_t H, bool relu) {
  for (int64_t j = 0; j < H; ++j) {
    const float a = g[j] + b_ih[j] + b_hh[j];
    h_new[j] = relu ? std::max(a, 0.0f) : tanh_(a);
  }
}

// LSTM, gates [i | f | g | o] (4H) before bias: c' = f c + i g, h' = o tanh(c').
RNNKIT_CLONES void lstm_gates(const float* __restrict g, const float* __restrict b_ih, const float* __restrict b_hh,
                              const float* __restrict c, float* __restrict h_new, float* __restrict c_new, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const float i = sigmoid_(g[j] + b_ih[j] + b_hh[j]);
    const float f = sigmoid_(g[H + j] + b_ih[H + j] + b_hh[H + j]);
    const float cand = tanh_(g[2 * H + j] + b_ih[2 * H + j] + b_hh[2 * H + j]);
    const float o = sigmoid_(g[3 * H + j] + b_ih[3 * H + j] + b_hh[3 * H + j]);
    const float cn = f * c[j] + i * cand;
    c_new[j] = cn;
    h_new[j] = o * tanh_(cn);
  }
}

constexpr float kLayerNormEps = 1e-5f;  // rnnkit.nn.cells.LN_EPS

// μ and 1/√(σ² + ε) of n values, σ² the biased variance (torch's layer_norm), in two passes.
struct Moments {
  float mean;
  float rstd;
};

inline Moments moments(const float* __restrict v, int64_t n) {
  float mean = 0.0f;
  for (int64_t j = 0; j < n; ++j) mean += v[j];
  mean /= static_cast<float>(n);
  float var = 0.0f;
  for (int64_t j = 0; j < n; ++j) var += (v[j] - mean) * (v[j] - mean);
  return {mean, 1.0f / std::sqrt(var / static_cast<float>(n) + kLayerNormEps)};
}

// v (n values) <- gain ⊙ (v − μ) / √(σ² + ε) in place: one gate block of the LayerNorm-LSTM.
RNNKIT_CLONES void normalise(float* __restrict v, const float* __restrict gain, int64_t n) {
  const Moments m = moments(v, n);
  for (int64_t j = 0; j < n; ++j) v[j] = (v[j] - m.mean) * m.rstd * gain[j];
}

// LayerNorm-LSTM (Ba et al. 2016; rnnkit.nn.cells.LayerNormLSTMCell), one row: a = gxn + LN_{γh}(gh) + b_ih + b_hh
// per gate block [i | f | g | o], where gxn = LN_{γx}(x W_ih^T) already; c' = f c + i g;
// h' = o tanh(LN_{γc}(c') + β_c). gh (4H) is normalised in place.
RNNKIT_CLONES void ln_lstm_gates(const float* __restrict gxn, float* __restrict gh, const float* __restrict ln_hh,
                                 const float* __restrict b_ih, const float* __restrict b_hh,
                                 const float* __restrict ln_c, const float* __restrict ln_bias_c,
                                 const float* __restrict c, float* __restrict h_new, float* __restrict c_new,
                                 int64_t H) {
  for (int64_t k = 0; k < 4; ++k) normalise(gh + k * H, ln_hh + k * H, H);
  for (int64_t j = 0; j < H; ++j) {
    const float i = sigmoid_(gxn[j] + gh[j] + b_ih[j] + b_hh[j]);
    const float f = sigmoid_(gxn[H + j] + gh[H + j] + b_ih[H + j] + b_hh[H + j]);
    const float cand = tanh_(gxn[2 * H + j] + gh[2 * H + j] + b_ih[2 * H + j] + b_hh[2 * H + j]);
    const float o = sigmoid_(gxn[3 * H + j] + gh[3 * H + j] + b_ih[3 * H + j] + b_hh[3 * H + j]);
    c_new[j] = f * c[j] + i * cand;
    h_new[j] = o;  // o waits here until c' is normalised
  }
  const Moments m = moments(c_new, H);
  for (int64_t j = 0; j < H; ++j) h_new[j] *= tanh_((c_new[j] - m.mean) * m.rstd * ln_c[j] + ln_bias_c[j]);
}

// GRU, [r | z] = σ(W_i[r|z] x + b_i + W_h[r|z] h + b_h) into rz (2H); gi, gh (3H) before bias.
RNNKIT_CLONES void gru_rz(const float* __restrict gi, const float* __restrict gh, const float* __restrict b_ih,
                          const float* __restrict b_hh, float* __restrict rz, int64_t H) {
  for (int64_t j = 0; j < 2 * H; ++j) rz[j] = sigmoid_(gi[j] + b_ih[j] + gh[j] + b_hh[j]);
}

// Reset-after (torch.nn.GRU): n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); reset-before (the lecture's):
// n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn), where gh_n already holds W_hn (r ⊙ h). Then h' = (1 - z) n + z h.
RNNKIT_CLONES void gru_update(const float* __restrict gi_n, const float* __restrict gh_n, const float* __restrict b_in,
                              const float* __restrict b_hn, const float* __restrict rz, const float* __restrict h,
                              float* __restrict h_new, int64_t H, bool reset_before) {
  if (reset_before) {  // two loops, so that each vectorises
    for (int64_t j = 0; j < H; ++j) {
      const float n = tanh_(gi_n[j] + b_in[j] + gh_n[j] + b_hn[j]);
      h_new[j] = n + rz[H + j] * (h[j] - n);
    }
  } else {
    for (int64_t j = 0; j < H; ++j) {
      const float n = tanh_(gi_n[j] + b_in[j] + rz[j] * (gh_n[j] + b_hn[j]));
      h_new[j] = n + rz[H + j] * (h[j] - n);
    }
  }
}

// Scratch memory reused across calls (one set per thread): no allocation per step.
float* scratch(std::vector<float>& buffer, int64_t size) {
  if (static_cast<int64_t>(buffer.size()) < size) buffer.resize(size);
  return buffer.data();
}

// One GRU layer, one step: gi = x W_ih^T (B, 3H; + b_ih, which may be all zeros), h (B, H) -> h_new (B, H).
// panels_hh: W_hh^T packed with a split at 2H for the reset-before form (see pack), or nullptr; backward: read
// them last to first (a sequence alternates it, see gemv_packed).
void gru_layer(const float* gi, const float* h, float* h_new, const torch::Tensor& w_hh_t, const float* panels_hh,
               const float* b_ih, const float* b_hh, int64_t B, int64_t H, bool reset_before, bool backward) {
  thread_local std::vector<float> gh_buffer, rz_buffer, rh_buffer;
  float* gh = scratch(gh_buffer, B * 3 * H);
  float* rz = scratch(rz_buffer, B * 2 * H);
  linear(h, B, H, H, Columns{w_hh_t, panels_hh, 0, reset_before ? 2 * H : 3 * H, backward}, gh, 3 * H, false);
  for (int64_t b = 0; b < B; ++b) gru_rz(gi + b * 3 * H, gh + b * 3 * H, b_ih, b_hh, rz + b * 2 * H, H);
  if (reset_before) {
    float* rh = scratch(rh_buffer, B * H);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) rh[b * H + j] = rz[b * 2 * H + j] * h[b * H + j];
    const float* panels_n = panels_hh == nullptr ? nullptr : panels_hh + panels_of(2 * H) * H * kPanel;
    linear(rh, B, H, H, Columns{w_hh_t, panels_n, 2 * H, H, backward}, gh + 2 * H, 3 * H, false);
  }
  for (int64_t b = 0; b < B; ++b)
    gru_update(gi + b * 3 * H + 2 * H, gh + b * 3 * H + 2 * H, b_ih + 2 * H, b_hh + 2 * H, rz + b * 2 * H, h + b * H,
               h_new + b * H, H, reset_before);
}

// The LayerNorm-LSTM's parameters beyond W and b: γh (4H), γc (H), β_c (H); γx is applied to gxn before.
struct LayerNormParams {
  const float* ln_hh;
  const float* ln_c;
  const float* ln_bias_c;
};

// One LayerNorm-LSTM layer, one step: gxn = LN_{γx}(x W_ih^T) (B, 4H), h, c (B, H) -> h_new, c_new (B, H).
void ln_lstm_layer(const float* gxn, const float* h, const float* c, float* h_new, float* c_new,
                   const torch::Tensor& w_hh_t, const float* panels_hh, const float* b_ih, const float* b_hh,
                   const LayerNormParams& ln, int64_t B, int64_t H, bool backward) {
  thread_local std::vector<float> gh_buffer;
  float* gh = scratch(gh_buffer, B * 4 * H);
  linear(h, B, H, H, Columns{w_hh_t, panels_hh, 0, 4 * H, backward}, gh, 4 * H, false);  // h W_hh^T, normalised apart
  for (int64_t b = 0; b < B; ++b)
    ln_lstm_gates(gxn + b * 4 * H, gh + b * 4 * H, ln.ln_hh, b_ih, b_hh, ln.ln_c, ln.ln_bias_c, c + b * H,
                  h_new + b * H, c_new + b * H, H);
}

void check_float(const torch::Tensor& t, const char* what) {
  TORCH_CHECK(t.scalar_type() == torch::kFloat && t.is_contiguous() && t.device().is_cpu(), "rnnkit infer: ", what,
              " must be a contiguous float32 CPU tensor");
}

}  // namespace

// W^T (in, G) -> the panels of gemv_packed: columns [0, split) and [split, G) each packed from their own first
// column (split = 0: all G at once), as (ceil(split / 64) + ceil((G - split) / 64), in, 64).
torch::Tensor pack(const torch::Tensor& w_t, int64_t split) {
  check_float(w_t, "W^T");
  const int64_t in = w_t.size(0), G = w_t.size(1);
  TORCH_CHECK(split >= 0 && split < G, "rnnkit infer: split must be in [0, G)");
  auto out = torch::zeros({panels_of(split) + panels_of(G - split), in, kPanel}, w_t.options());
  const float* src = w_t.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  int64_t p = 0;
  auto pack_range = [&](int64_t start, int64_t stop) {
    for (int64_t j0 = start; j0 < stop; j0 += kPanel, ++p)
      for (int64_t e = 0; e < in; ++e)
        for (int64_t j = j0; j < std::min(j0 + kPanel, stop); ++j)
          dst[(p * in + e) * kPanel + (j - j0)] = src[e * G + j];
  };
  if (split > 0) {
    pack_range(0, split);
    pack_range(split, G);
  } else {
    pack_range(0, G);
  }
  return out;
}

// A GRU (either form) over a whole sequence: gi (T, B, 3H) = x W_ih^T + b_ih, h0 (B, H) -> out (T, B, H), h_T (B, H).
std::vector<torch::Tensor> gru_sequence(const torch::Tensor& gi, const torch::Tensor& h0, const torch::Tensor& w_hh_t,
                                        const torch::Tensor& b_hh, bool reset_before) {
  check_float(gi, "gi");
  check_float(w_hh_t, "W_hh^T");
  check_float(b_hh, "b_hh");
  const int64_t T = gi.size(0), B = gi.size(1), H = h0.size(1);
  auto out = torch::empty({T, B, H}, gi.options());
  auto h = h0.to(torch::kFloat).contiguous().clone();
  const std::vector<float> zeros(3 * H, 0.0f);  // b_ih is already in gi
  const float* gip = gi.data_ptr<float>();
  float* outp = out.data_ptr<float>();
  const float* prev = h.data_ptr<float>();
  const auto panels = B == 1 ? pack(w_hh_t, reset_before ? 2 * H : 0) : torch::Tensor();  // one pass, T steps
  for (int64_t t = 0; t < T; ++t) {
    gru_layer(gip + t * B * 3 * H, prev, outp + t * B * H, w_hh_t, B == 1 ? panels.data_ptr<float>() : nullptr,
              zeros.data(), b_hh.data_ptr<float>(), B, H, reset_before, t % 2 == 1);
    prev = outp + t * B * H;
  }
  std::memcpy(h.data_ptr<float>(), prev, sizeof(float) * B * H);
  return {out, h};
}

constexpr int64_t kChunkRows = 256;  // rows (steps x batch) of the input projection lstm_sequence computes in one GEMM

// The LSTM over a whole sequence: x (T, B, I), h0, c0 (B, H), W_ih^T (I, 4H), bias = b_ih + b_hh (4H), W_hh^T (H, 4H)
// and, for batch 1, its panels pack(W_hh^T, 0) -> out (T, B, H), h_T, c_T (B, H). The input side, x_t W_ih^T + b,
// is one GEMM per kChunkRows rows (at least one step) into a reused buffer (bounded memory, and it stays in cache); each step adds
// h_{t-1} W_hh^T to its rows and squashes the gates.
std::vector<torch::Tensor> lstm_sequence(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& c0,
                                         const torch::Tensor& w_ih_t, const torch::Tensor& bias,
                                         const torch::Tensor& w_hh_t, const torch::Tensor& panels_hh) {
  for (const auto* t : {&x, &h0, &c0, &w_ih_t, &bias, &w_hh_t}) check_float(*t, "LSTM input");
  const int64_t T = x.size(0), B = x.size(1), I = x.size(2), H = h0.size(1), G = 4 * H;
  TORCH_CHECK(w_ih_t.size(0) == I && w_ih_t.size(1) == G && bias.numel() == G && w_hh_t.size(0) == H &&
                  w_hh_t.size(1) == G && h0.size(0) == B && c0.sizes() == h0.sizes(),
              "rnnkit infer: LSTM shapes disagree");
  if (B == 1) {
    check_float(panels_hh, "packed W_hh^T");
    TORCH_CHECK(panels_hh.numel() == panels_of(G) * H * kPanel, "rnnkit infer: packed W_hh^T has the wrong size");
  }
  auto out = torch::empty({T, B, H}, x.options());
  auto h = h0.clone();
  auto c = c0.clone();
  auto c_next = torch::empty_like(c0);
  const std::vector<float> zeros(G, 0.0f);  // the biases are already in the input projection
  thread_local std::vector<float> gate_buffer;
  const int64_t steps = std::max<int64_t>(1, kChunkRows / B);
  float* gates = scratch(gate_buffer, steps * B * G);
  float* outp = out.data_ptr<float>();
  const float* panels = B == 1 ? panels_hh.data_ptr<float>() : nullptr;
  const float* prev = h.data_ptr<float>();
  for (int64_t t0 = 0; t0 < T; t0 += steps) {
    const int64_t n = std::min(steps, T - t0);
    auto chunk = torch::from_blob(gates, {n * B, G}, x.options());
    at::addmm_out(chunk, bias, x.narrow(0, t0, n).reshape({n * B, I}), w_ih_t);  // x_t W_ih^T + b
    for (int64_t t = t0; t < t0 + n; ++t) {
      float* g = gates + (t - t0) * B * G;
      linear(prev, B, H, H, Columns{w_hh_t, panels, 0, G, t % 2 == 1}, g, G, true);  // + h_{t-1} W_hh^T
      float* h_new = outp + t * B * H;
      for (int64_t b = 0; b < B; ++b)
        lstm_gates(g + b * G, zeros.data(), zeros.data(), c.data_ptr<float>() + b * H, h_new + b * H,
                   c_next.data_ptr<float>() + b * H, H);
      std::swap(c, c_next);
      prev = h_new;
    }
  }
  std::memcpy(h.data_ptr<float>(), prev, sizeof(float) * B * H);
  return {out, h, c};
}

// The LayerNorm-LSTM over a whole sequence: gxn (T, B, 4H) = LN_{γx}(x W_ih^T) + b_ih + b_hh, h0, c0 (B, H),
// W_hh^T (H, 4H), γh (4H), γc (H), β_c (H) -> out (T, B, H), h_T, c_T (B, H).
std::vector<torch::Tensor> ln_lstm_sequence(const torch::Tensor& gxn, const torch::Tensor& h0, const torch::Tensor& c0,
                                            const torch::Tensor& w_hh_t, const torch::Tensor& ln_hh,
                                            const torch::Tensor& ln_c, const torch::Tensor& ln_bias_c) {
  for (const auto* t : {&gxn, &h0, &c0, &w_hh_t, &ln_hh, &ln_c, &ln_bias_c}) check_float(*t, "LayerNorm-LSTM input");
  const int64_t T = gxn.size(0), B = gxn.size(1), H = h0.size(1);
  TORCH_CHECK(gxn.size(2) == 4 * H && w_hh_t.size(0) == H && w_hh_t.size(1) == 4 * H && ln_hh.numel() == 4 * H &&
                  ln_c.numel() == H && ln_bias_c.numel() == H && c0.sizes() == h0.sizes(),
              "rnnkit infer: LayerNorm-LSTM shapes disagree");
  auto out = torch::empty({T, B, H}, gxn.options());
  auto h = h0.clone();
  auto c = c0.clone();
  auto c_next = torch::empty_like(c0);
  const std::vector<float> zeros(4 * H, 0.0f);  // the biases are already in gxn
  const LayerNormParams ln{ln_hh.data_ptr<float>(), ln_c.data_ptr<float>(), ln_bias_c.data_ptr<float>()};
  const auto panels = B == 1 ? pack(w_hh_t, 0) : torch::Tensor();
  const float* prev = h.data_ptr<float>();
  for (int64_t t = 0; t < T; ++t) {
    ln_lstm_layer(gxn.data_ptr<float>() + t * B * 4 * H, prev, c.data_ptr<float>(), out.data_ptr<float>() + t * B * H,
                  c_next.data_ptr<float>(), w_hh_t, B == 1 ? panels.data_ptr<float>() : nullptr, zeros.data(),
                  zeros.data(), ln, B, H, t % 2 == 1);
    std::swap(c, c_next);
    prev = out.data_ptr<float>() + t * B * H;
  }
  std::memcpy(h.data_ptr<float>(), prev, sizeof(float) * B * H);
  return {out, h, c};
}

// One step of a whole stack of layers (streaming), one call from Python per step:
// x (B, I), h (L, B, H)[, c (L, B, H)], weights = per layer [W_ih^T (in, G), b_ih (G), W_hh^T (H, G), b_hh (G),
// pack(W_ih^T, 0), pack(W_hh^T, 2H for the reset-before GRU, else 0)], and for the LayerNorm-LSTM also
// [γx (4H), γh (4H), γc (H), β_c (H)] -> {top output (B, H), new h (L, B, H)[, new c (L, B, H)]}.
// The inputs are not modified.
std::vector<torch::Tensor> stack_step(const std::string& cell, const torch::Tensor& x, const torch::Tensor& h,
                                      const torch::Tensor& c, const std::vector<torch::Tensor>& weights) {
  const Kind kind = kind_of(cell);
  const bool lstm = kind == Kind::Lstm || kind == Kind::LayerNormLstm;
  const int64_t per_layer = kind == Kind::LayerNormLstm ? 10 : 6;
  check_float(x, "x");
  check_float(h, "h");
  if (lstm) check_float(c, "c");
  const int64_t L = h.size(0), B = h.size(1), H = h.size(2);
  TORCH_CHECK(static_cast<int64_t>(weights.size()) == per_layer * L && x.dim() == 2 && x.size(0) == B,
              "rnnkit infer: shapes of x, state and weights disagree");
  for (const auto& w : weights) check_float(w, "weights");
  auto h_new = torch::empty({L, B, H}, x.options());
  auto c_new = lstm ? torch::empty({L, B, H}, x.options()) : torch::Tensor();
  thread_local std::vector<float> gate_buffer;
  const float* inp = x.data_ptr<float>();
  int64_t in = x.size(1);
  for (int64_t l = 0; l < L; ++l) {
    const torch::Tensor& w_ih = weights[per_layer * l];
    const torch::Tensor& w_hh = weights[per_layer * l + 2];
    const float* panels_ih = weights[per_layer * l + 4].data_ptr<float>();
    const float* panels_hh = weights[per_layer * l + 5].data_ptr<float>();
    const int64_t G = w_ih.size(1);
    TORCH_CHECK(w_ih.size(0) == in && w_hh.size(0) == H && w_hh.size(1) == G, "rnnkit infer: layer ", l,
                " weights do not match the input and state sizes");
    const float* b_ih = weights[per_layer * l + 1].data_ptr<float>();
    const float* b_hh = weights[per_layer * l + 3].data_ptr<float>();
    const float* hl = h.data_ptr<float>() + l * B * H;
    float* hn = h_new.data_ptr<float>() + l * B * H;
    float* g = scratch(gate_buffer, B * G);
    linear(inp, B, in, in, Columns{w_ih, panels_ih, 0, G}, g, G, false);  // x W_ih^T
    if (kind == Kind::Gru || kind == Kind::GruResetBefore) {
      gru_layer(g, hl, hn, w_hh, panels_hh, b_ih, b_hh, B, H, kind == Kind::GruResetBefore, false);
    } else if (kind == Kind::LayerNormLstm) {
      const float* ln_ih = weights[per_layer * l + 6].data_ptr<float>();
      for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < 4; ++k) normalise(g + b * G + k * H, ln_ih + k * H, H);  // LN_{γx}(x W_ih^T)
      const LayerNormParams ln{weights[per_layer * l + 7].data_ptr<float>(), weights[per_layer * l + 8].data_ptr<float>(),
                               weights[per_layer * l + 9].data_ptr<float>()};
      const int64_t offset = l * B * H;
      ln_lstm_layer(g, hl, c.data_ptr<float>() + offset, hn, c_new.data_ptr<float>() + offset, w_hh, panels_hh, b_ih,
                    b_hh, ln, B, H, false);
    } else {
      linear(hl, B, H, H, Columns{w_hh, panels_hh, 0, G}, g, G, true);  // + h W_hh^T
      for (int64_t b = 0; b < B; ++b) {
        if (lstm) {
          const int64_t offset = l * B * H + b * H;
          lstm_gates(g + b * G, b_ih, b_hh, c.data_ptr<float>() + offset, hn + b * H,
                     c_new.data_ptr<float>() + offset, H);
        } else {
          rnn_gates(g + b * G, b_ih, b_hh, hn + b * H, H, kind == Kind::RnnRelu);
        }
      }
    }
    inp = hn;
    in = H;
  }
  auto out = torch::empty({B, H}, x.options());
  std::memcpy(out.data_ptr<float>(), h_new.data_ptr<float>() + (L - 1) * B * H, sizeof(float) * B * H);
  if (lstm) return {out, h_new, c_new};
  return {out, h_new};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("stack_step", &stack_step, "one step of a stack of layers (inference)");
  m.def("gru_sequence", &gru_sequence, "GRU over a sequence (inference)");
  m.def("lstm_sequence", &lstm_sequence, "LSTM over a sequence (inference)");
  m.def("ln_lstm_sequence", &ln_lstm_sequence, "LayerNorm-LSTM over a sequence (inference)");
  m.def("pack", &pack, "W^T in 64-column panels for the batch-1 products");
}
