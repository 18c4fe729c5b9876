// quantize: out = wrap(floor(v / 2**D), WO bits), v = a, -a (NEG != 0), then max(v, 0) if RELU != 0.
//
// Truncation toward -inf of a two's-complement value is dropping its low D bits, and wrapping
// is keeping the next WO bits, so after one exact negation this is pure bit selection. a is
// sign- (SA != 0) or zero-extended to a width above WA + 1 and D + WO first, so the negation of
// the most negative value is exact and every selected bit exists. SO only documents how out
// is read.
module quantize #(
    parameter integer WA   = 8,  // width of a
    parameter integer SA   = 1,  // a is signed
    parameter integer D    = 0,  // low bits dropped (operand step / output step = 2**D), >= 0
    parameter integer NEG  = 0,  // quantize -a instead of a
    parameter integer RELU = 0,  // clamp negative values to zero before quantizing
    parameter integer WO   = 8,  // width of out
    // verilator lint_off UNUSEDPARAM
    parameter integer SO   = 1   // out is read as signed (bit pattern does not depend on it)
    // verilator lint_on UNUSEDPARAM
) (
    input  wire [WA-1:0] a,
    output wire [WO-1:0] out
);
    localparam integer WN = ((WA + 1 > D + WO) ? WA + 1 : D + WO);
    localparam integer WI = WN + 1;

    // The conditions on parameters are folded at elaboration: no net exists only to be
    // selected away, which event-driven simulators would evaluate on every change of a.
    wire [WI-1:0] a_ext = (SA != 0) ? {{(WI - WA) {a[WA-1]}}, a} : {{(WI - WA) {1'b0}}, a};
    // only bits D .. D+WO-1 leave the module: the dropped and wrapped-away bits are unused
    // verilator lint_off UNUSEDSIGNAL
    wire [WI-1:0] v = (NEG != 0) ? {WI{1'b0}} - a_ext : a_ext;
    // verilator lint_on UNUSEDSIGNAL
    assign out = ((RELU != 0) && v[WI-1]) ? {WO{1'b0}} : v[D +: WO];
endmodule
