// rnnkit's CPU inference kernels: the recurrence as a C++ loop, for inference (no autograd).
//
// Python pays several microseconds per tensor operation; a GRU step is ~8 of them, so at batch 1 the
// interpreter, not the arithmetic, sets the speed. Here each step is one or two GEMMs into preallocated
// buffers (ATen/MKL) and one pass of plain C++ over the gates. Weights arrive transposed and contiguous,
// W^T (in, G*H), so the GEMV streams memory in order. The equations are those of rnnkit/nn/cells.py.
#include <torch/extension.h>

#include <cmath>
#include <cstring>
#include <string>

namespace {

inline float sigm(float x) { return 1.f / (1.f + std::exp(-x)); }

enum class Kind { RnnTanh, RnnRelu, Lstm, Gru, GruResetBefore };

Kind kind_of(const std::string& name) {
  if (name == "rnn") return Kind::RnnTanh;
  if (name == "rnn-relu") return Kind::RnnRelu;
  if (name == "lstm") return Kind::Lstm;
  if (name == "gru") return Kind::Gru;
  if (name == "gru-reset-before") return Kind::GruResetBefore;
  TORCH_CHECK(false, "rnnkit infer: unknown cell ", name);
}

// One GRU step given gi = x W_ih^T + b_ih (B, 3H); h is updated in place, also written to `out`.
void gru_step(const float* gi, float* h, float* out, const torch::Tensor& h_t, const torch::Tensor& w_hh_t,
              const float* b_hh, torch::Tensor& gh, torch::Tensor& rh, bool reset_before, int64_t B, int64_t H) {
  float* ghp = gh.data_ptr<float>();
  if (!reset_before) {
    at::mm_out(gh, h_t, w_hh_t);  // [W_hr h, W_hz h, W_hn h] in one GEMM
  } else {
    auto gh_rz = gh.narrow(1, 0, 2 * H);
    at::mm_out(gh_rz, h_t, w_hh_t.narrow(1, 0, 2 * H));
    float* rhp = rh.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) {
        const float r = sigm(gi[b * 3 * H + j] + ghp[b * 3 * H + j] + b_hh[j]);
        rhp[b * H + j] = r * h[b * H + j];  // the reset gate acts on h before W_hn
      }
    auto gh_n = gh.narrow(1, 2 * H, H);
    at::mm_out(gh_n, rh, w_hh_t.narrow(1, 2 * H, H));
  }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      const int64_t k = b * 3 * H;
      const float z = sigm(gi[k + H + j] + ghp[k + H + j] + b_hh[H + j]);
      float n;
      if (reset_before) {
        n = std::tanh(gi[k + 2 * H + j] + ghp[k + 2 * H + j] + b_hh[2 * H + j]);
      } else {
        const float r = sigm(gi[k + j] + ghp[k + j] + b_hh[j]);
        n = std::tanh(gi[k + 2 * H + j] + r * (ghp[k + 2 * H + j] + b_hh[2 * H + j]));
      }
      const float hn = n + z * (h[b * H + j] - n);  // (1 - z) n + z h
      out[b * H + j] = hn;
    }
  std::memcpy(h, out, sizeof(float) * B * H);
}

}  // namespace

// A GRU (either form) over a whole sequence: gi (T, B, 3H), h0 (B, H) -> out (T, B, H), h_T (B, H).
std::vector<torch::Tensor> gru_sequence(const torch::Tensor& gi, const torch::Tensor& h0, const torch::Tensor& w_hh_t,
                                        const torch::Tensor& b_hh, bool reset_before) {
  TORCH_CHECK(gi.scalar_type() == torch::kFloat && gi.is_contiguous() && w_hh_t.is_contiguous(),
              "rnnkit infer: float32 contiguous tensors expected");
  const int64_t T = gi.size(0), B = gi.size(1), H = h0.size(1);
  auto out = torch::empty({T, B, H}, gi.options());
  auto h = h0.contiguous().clone();
  auto gh = torch::empty({B, 3 * H}, gi.options());
  auto rh = torch::empty({B, H}, gi.options());
  const float* bh = b_hh.data_ptr<float>();
  for (int64_t t = 0; t < T; ++t)
    gru_step(gi[t].data_ptr<float>(), h.data_ptr<float>(), out[t].data_ptr<float>(), h, w_hh_t, bh, gh, rh,
             reset_before, B, H);
  return {out, h};
}

// One step of any cell: x (B, I), h (B, H)[, c (B, H)] -> new h[, new c].
std::vector<torch::Tensor> cell_step(const std::string& cell, const torch::Tensor& x, const torch::Tensor& h,
                                     const torch::Tensor& c, const torch::Tensor& w_ih_t, const torch::Tensor& b_ih,
                                     const torch::Tensor& w_hh_t, const torch::Tensor& b_hh) {
  const Kind kind = kind_of(cell);
  const int64_t B = x.size(0), H = h.size(1);
  auto gi = at::addmm(b_ih, x, w_ih_t);  // (B, G*H) = x W_ih^T + b_ih
  const float* bh = b_hh.data_ptr<float>();
  if (kind == Kind::Gru || kind == Kind::GruResetBefore) {
    auto hn = h.contiguous().clone();
    auto out = torch::empty_like(hn);
    auto gh = torch::empty({B, 3 * H}, x.options());
    auto rh = torch::empty({B, H}, x.options());
    gru_step(gi.data_ptr<float>(), hn.data_ptr<float>(), out.data_ptr<float>(), hn, w_hh_t, bh, gh, rh,
             kind == Kind::GruResetBefore, B, H);
    return {out};
  }
  auto gates = at::addmm(gi, h, w_hh_t);  // + h W_hh^T
  float* g = gates.data_ptr<float>();
  if (kind == Kind::Lstm) {
    auto hn = torch::empty({B, H}, x.options());
    auto cn = torch::empty({B, H}, x.options());
    const float* cp = c.contiguous().data_ptr<float>();
    float* hp = hn.data_ptr<float>();
    float* cnp = cn.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) {
        const int64_t k = b * 4 * H;
        const float i = sigm(g[k + j] + bh[j]), f = sigm(g[k + H + j] + bh[H + j]);
        const float gg = std::tanh(g[k + 2 * H + j] + bh[2 * H + j]), o = sigm(g[k + 3 * H + j] + bh[3 * H + j]);
        const float cv = f * cp[b * H + j] + i * gg;  // c_t = f c + i g
        cnp[b * H + j] = cv;
        hp[b * H + j] = o * std::tanh(cv);  // h_t = o tanh(c_t)
      }
    return {hn, cn};
  }
  auto hn = torch::empty({B, H}, x.options());
  float* hp = hn.data_ptr<float>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      const float a = g[b * H + j] + bh[j];
      hp[b * H + j] = kind == Kind::RnnTanh ? std::tanh(a) : (a > 0.f ? a : 0.f);
    }
  return {hn};
}

// One step of a whole stack of layers (streaming), one call from Python per step:
// x (B, I), h (L, B, H)[, c (L, B, H)], weights = per layer [W_ih^T, b_ih, W_hh^T, b_hh]
// -> {top output (B, H), new h (L, B, H)[, new c (L, B, H)]}.
std::vector<torch::Tensor> stack_step(const std::string& cell, const torch::Tensor& x, const torch::Tensor& h,
                                      const torch::Tensor& c, const std::vector<torch::Tensor>& weights) {
  const int64_t L = h.size(0);
  const bool lstm = kind_of(cell) == Kind::Lstm;
  std::vector<torch::Tensor> hs, cs;
  torch::Tensor inp = x;
  for (int64_t l = 0; l < L; ++l) {
    auto r = cell_step(cell, inp, h[l], lstm ? c[l] : h[l], weights[4 * l], weights[4 * l + 1], weights[4 * l + 2],
                       weights[4 * l + 3]);
    hs.push_back(r[0]);
    if (lstm) cs.push_back(r[1]);
    inp = r[0];
  }
  if (lstm) return {inp, torch::stack(hs), torch::stack(cs)};
  return {inp, torch::stack(hs)};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("stack_step", &stack_step, "one step of a stack of layers (inference)");
  m.def("gru_sequence", &gru_sequence, "GRU over a sequence (inference)");
}
