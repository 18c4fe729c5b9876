-- mul: y = a * b, truncated to WO bits.
--
-- Both operands are sign- (SA/SB /= 0) or zero-extended to a width above WA + WB and WO, where
-- the exact product of any two such operands fits; the low WI bits of the unsigned product of
-- the extended words are then the two's-complement product. SO only documents how y is read.
-- Same parameters and semantics as mul.v.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity mul is
    generic (
        WA : positive := 8;   -- width of a
        SA : natural  := 1;   -- a is signed
        WB : positive := 8;   -- width of b
        SB : natural  := 1;   -- b is signed
        WO : positive := 16;  -- width of y
        SO : natural  := 1    -- y is read as signed (bit pattern does not depend on it)
    );
    port (
        a : in  std_logic_vector(WA - 1 downto 0);
        b : in  std_logic_vector(WB - 1 downto 0);
        y : out std_logic_vector(WO - 1 downto 0)
    );
end entity mul;

architecture rtl of mul is
    constant WI : positive := maximum(WA + WB, WO) + 1;
begin
    calc: process (a, b)
        variable x, z : unsigned(WI - 1 downto 0);
        variable full : unsigned(2 * WI - 1 downto 0);
    begin
        if SA /= 0 then x := unsigned(resize(signed(a), WI)); else x := resize(unsigned(a), WI); end if;
        if SB /= 0 then z := unsigned(resize(signed(b), WI)); else z := resize(unsigned(b), WI); end if;
        full := x * z;
        y <= std_logic_vector(full(WO - 1 downto 0));
    end process calc;
end architecture rtl;
