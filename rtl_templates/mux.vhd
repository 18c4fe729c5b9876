-- mux: y = msb(key) ? (a << SHA) : (b << SHB)   (or -(b << SHB) when NEG /= 0), WO bits.
--
-- msb(key) is the top bit of key at its own width: the sign of a signed key, the highest
-- magnitude bit of an unsigned one. Both choices are sign- (SA/SB /= 0) or zero-extended to a
-- common width above every operand, shift and the output, so negating b is exact; the low WO
-- bits of the chosen value are the output. SO only documents how they are read. Same
-- parameters and semantics as mux.v.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity mux is
    generic (
        WK  : positive := 1;  -- width of key
        WA  : positive := 8;  -- width of a
        SA  : natural  := 1;  -- a is signed
        SHA : natural  := 0;  -- left shift of a
        WB  : positive := 8;  -- width of b
        SB  : natural  := 1;  -- b is signed
        SHB : natural  := 0;  -- left shift of b
        NEG : natural  := 0;  -- choose -(b << SHB) instead of b << SHB
        WO  : positive := 8;  -- width of y
        SO  : natural  := 1   -- y is read as signed (bit pattern does not depend on it)
    );
    port (
        key : in  std_logic_vector(WK - 1 downto 0);
        a   : in  std_logic_vector(WA - 1 downto 0);
        b   : in  std_logic_vector(WB - 1 downto 0);
        y   : out std_logic_vector(WO - 1 downto 0)
    );
end entity mux;

architecture rtl of mux is
    -- two guard bits: one for the sign of -b, one to spare
    constant WI : positive := maximum(maximum(WA + SHA, WB + SHB), WO) + 2;
    signal a_sh, b_sh, b_sel, full : unsigned(WI - 1 downto 0);
begin
    a_sh <= shift_left(unsigned(resize(signed(a), WI)), SHA) when SA /= 0
            else shift_left(resize(unsigned(a), WI), SHA);
    b_sh <= shift_left(unsigned(resize(signed(b), WI)), SHB) when SB /= 0
            else shift_left(resize(unsigned(b), WI), SHB);
    b_sel <= to_unsigned(0, WI) - b_sh when NEG /= 0 else b_sh;
    full <= a_sh when key(WK - 1) = '1' else b_sel;
    y <= std_logic_vector(full(WO - 1 downto 0));
end architecture rtl;
