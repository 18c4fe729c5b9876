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
begin
    calc: process (key, a, b)
        variable x : unsigned(WI - 1 downto 0);
    begin
        if key(WK - 1) = '1' then
            if SA /= 0 then x := unsigned(resize(signed(a), WI)); else x := resize(unsigned(a), WI); end if;
            x := shift_left(x, SHA);
        else
            if SB /= 0 then x := unsigned(resize(signed(b), WI)); else x := resize(unsigned(b), WI); end if;
            x := shift_left(x, SHB);
            if NEG /= 0 then
                x := to_unsigned(0, WI) - x;
            end if;
        end if;
        y <= std_logic_vector(x(WO - 1 downto 0));
    end process calc;
end architecture rtl;
